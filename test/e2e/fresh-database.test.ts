// `npm start` on a fresh Postgres: the database in DATABASE_URL is created when missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ensureDatabase, runMigrations } from '../../src/database/data-source';

const ADMIN = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

test('runMigrations creates a missing database, then finds it there the next time', async () => {
  const name = `tern_fresh_${randomBytes(4).toString('hex')}`;
  const url = ADMIN.replace(/\/[^/]*$/, `/${name}`);
  try {
    const applied = await runMigrations(url);
    assert.ok(applied.length >= 1);
    assert.equal(await ensureDatabase(url), false);
    const c = new Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM event_types WHERE reserved`);
    await c.end();
    assert.equal(rows[0].n, 3);
    assert.deepEqual(await runMigrations(url), []);
  } finally {
    const c = new Client({ connectionString: ADMIN });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  }
});
