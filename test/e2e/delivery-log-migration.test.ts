// The DeliveryLogIndexes migration goes down and up again cleanly on a migrated database.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../support/harness';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { DeliveryLogIndexes1732360000000 } from '../../migrations/1732360000000-DeliveryLogIndexes';

let db: { url: string; drop: () => Promise<void> };
let ds: DataSource;

before(async () => {
  db = await freshDatabase();
  await runMigrations(db.url);
  ds = new DataSource(dataSourceOptions(db.url, 2));
  await ds.initialize();
});

after(async () => {
  await ds?.destroy();
  await db?.drop();
});

async function schema(): Promise<{
  indexes: Record<string, string>;
  stats: string[];
  options: string[];
}> {
  const rows: { indexname: string; indexdef: string }[] = await ds.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'deliveries'`,
  );
  const stats: { stxname: string }[] = await ds.query(`SELECT stxname FROM pg_statistic_ext`);
  const [{ reloptions }] = await ds.query(
    `SELECT reloptions FROM pg_class WHERE relname = 'deliveries'`,
  );
  return {
    indexes: Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef])),
    stats: stats.map((s) => s.stxname),
    options: reloptions ?? [],
  };
}

test('down restores the initial schema and up applies the log indexes again', async () => {
  const migration = new DeliveryLogIndexes1732360000000();
  const up = await schema();
  assert.ok(up.indexes.deliveries_endpoint_status_idx);
  assert.match(up.indexes.deliveries_unsettled_idx, /WHERE \(status <> 'succeeded'::text\)/);
  assert.match(up.indexes.deliveries_due_idx, /next_attempt_at IS NOT NULL/);
  assert.match(up.indexes.deliveries_lease_idx, /lease_expires_at IS NOT NULL/);
  assert.deepEqual(up.stats, ['deliveries_endpoint_tenant_deps']);
  assert.deepEqual(up.options, ['autovacuum_analyze_scale_factor=0.02']);

  const runner = ds.createQueryRunner();
  try {
    await migration.down(runner);
    const down = await schema();
    assert.equal(down.indexes.deliveries_endpoint_status_idx, undefined);
    assert.equal(down.indexes.deliveries_unsettled_idx, undefined);
    assert.match(down.indexes.deliveries_due_idx, /WHERE \(status = 'pending'::text\)$/);
    assert.match(down.indexes.deliveries_lease_idx, /WHERE \(status = 'sending'::text\)$/);
    assert.deepEqual(down.stats, []);
    assert.deepEqual(down.options, []);

    await migration.up(runner);
    assert.deepEqual(await schema(), up);
  } finally {
    await runner.release();
  }
});
