// Migrations on a real, empty database: up creates the whole schema and the reserved event types, down
// removes every table, and up works again afterwards. Concurrent runners apply each migration once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../support/harness';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';

const TABLES = [
  'alerts',
  'api_keys',
  'attempts',
  'deliveries',
  'endpoint_subscriptions',
  'endpoints',
  'event_types',
  'events',
  'tenants',
];
const RESERVED = ['tern.delivery.failed', 'tern.endpoint.disabled', 'webhook.test'];

describe('migrations', () => {
  let db: { url: string; drop: () => Promise<void> };
  let ds: DataSource;

  const tables = async (): Promise<string[]> =>
    (
      (await ds.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
      )) as { table_name: string }[]
    ).map((r) => r.table_name);

  before(async () => {
    db = await freshDatabase();
    ds = new DataSource(dataSourceOptions(db.url, 2));
    await ds.initialize();
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  test('up on an empty database creates every table and the reserved event types', async () => {
    assert.deepEqual(await tables(), []);
    const applied = await runMigrations(db.url);
    assert.ok(applied.includes('InitialSchema1732350000000'), applied.join());
    const present = await tables();
    for (const table of [...TABLES, 'migrations']) assert.ok(present.includes(table), table);
    const reserved = (await ds.query(
      `SELECT name FROM event_types WHERE reserved ORDER BY name`,
    )) as { name: string }[];
    assert.deepEqual(
      reserved.map((r) => r.name),
      RESERVED,
    );
    assert.deepEqual(await runMigrations(db.url), [], 'nothing left to apply');
  });

  test('down, one migration at a time, removes every table', async () => {
    const count = async () =>
      Number(
        ((await ds.query(`SELECT count(*)::int AS n FROM migrations`)) as { n: number }[])[0].n,
      );
    let steps = 0;
    while ((await count()) > 0) {
      await ds.undoLastMigration({ transaction: 'each' });
      steps++;
      assert.ok(steps < 1000, 'undo makes progress');
    }
    assert.ok(steps >= 1);
    assert.deepEqual(await tables(), ['migrations']);
  });

  test('up again after a full revert, and concurrent runners apply each migration once', async () => {
    const [a, b] = await Promise.all([runMigrations(db.url), runMigrations(db.url)]);
    const all = [...a, ...b];
    assert.ok(all.includes('InitialSchema1732350000000'));
    assert.equal(new Set(all).size, all.length, 'no migration applied twice');
    assert.ok(a.length === 0 || b.length === 0, 'one runner did all the work');
    const present = await tables();
    for (const table of TABLES) assert.ok(present.includes(table), table);
    const reserved = (await ds.query(
      `SELECT count(*)::int AS n FROM event_types WHERE reserved`,
    )) as {
      n: number;
    }[];
    assert.equal(reserved[0].n, RESERVED.length);
  });
});
