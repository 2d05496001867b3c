// The DeliveryLogIndexes, HotClaims, LogIndexesByStatus, DeliveriesWithoutForeignKeys,
// AscendingLogIndexes and RoomForHotClaims migrations go down and up again cleanly on a migrated
// database.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../support/harness';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { DeliveryLogIndexes1732360000000 } from '../../migrations/1732360000000-DeliveryLogIndexes';
import { HotClaims1732370000000 } from '../../migrations/1732370000000-HotClaims';
import { LogIndexesByStatus1732380000000 } from '../../migrations/1732380000000-LogIndexesByStatus';
import { DeliveriesWithoutForeignKeys1732400000000 } from '../../migrations/1732400000000-DeliveriesWithoutForeignKeys';
import { AscendingLogIndexes1732410000000 } from '../../migrations/1732410000000-AscendingLogIndexes';
import { RoomForHotClaims1732420000000 } from '../../migrations/1732420000000-RoomForHotClaims';

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

test('LogIndexesByStatus: down brings back the (tenant_id, id) and (endpoint_id, id) indexes', async () => {
  const migration = new LogIndexesByStatus1732380000000();
  const head = await schema();
  assert.equal(head.indexes.deliveries_tenant_idx, undefined);
  assert.equal(head.indexes.deliveries_endpoint_idx, undefined);
  const runner = ds.createQueryRunner();
  try {
    await migration.down(runner);
    const down = await schema();
    assert.match(down.indexes.deliveries_tenant_idx, /\(tenant_id, id DESC\)$/);
    assert.match(down.indexes.deliveries_endpoint_idx, /\(endpoint_id, id DESC\)$/);
    await migration.up(runner);
    assert.deepEqual(await schema(), head);
  } finally {
    await runner.release();
  }
});

test('HotClaims: down brings back the lease index and sending rows, up takes them away again', async () => {
  const migration = new HotClaims1732370000000();
  const head = await schema();
  assert.equal(head.indexes.deliveries_lease_idx, undefined);
  assert.deepEqual(head.options, ['autovacuum_analyze_scale_factor=0.02', 'fillfactor=50']);
  await ds.query(`INSERT INTO tenants (id, name) VALUES ('t_mig', 't')`);
  await ds.query(
    `INSERT INTO endpoints (id, tenant_id, url, secret) VALUES ('ep_mig', 't_mig', 'https://x.example', 's')`,
  );
  await ds.query(
    `INSERT INTO events (id, tenant_id, type, body) VALUES ('evt_mig', 't_mig', 'a.b', '{}')`,
  );
  await ds.query(
    `INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, max_attempts,
                             next_attempt_at, claim_id, lease_expires_at)
     VALUES ('dlv_mig_1', 't_mig', 'evt_mig', 'ep_mig', 'a.b', 'pending', 5, now(), gen_random_uuid(), now()),
            ('dlv_mig_2', 't_mig', 'evt_mig', 'ep_mig', 'a.b', 'pending', 5, now(), NULL, NULL)`,
  );
  const statuses = async () =>
    (
      (await ds.query(
        `SELECT id, status FROM deliveries WHERE tenant_id = 't_mig' ORDER BY id`,
      )) as {
        status: string;
      }[]
    ).map((r) => r.status);
  const runner = ds.createQueryRunner();
  try {
    await migration.down(runner);
    const down = await schema();
    assert.match(down.indexes.deliveries_lease_idx, /lease_expires_at IS NOT NULL/);
    assert.deepEqual(down.options, ['autovacuum_analyze_scale_factor=0.02']);
    assert.deepEqual(await statuses(), ['sending', 'pending'], 'the claimed row is sending again');
    await migration.up(runner);
    assert.deepEqual(await schema(), {
      ...head,
      options: ['autovacuum_analyze_scale_factor=0.02', 'fillfactor=80'],
    });
    assert.deepEqual(
      await statuses(),
      ['pending', 'pending'],
      'held by its claim, shown as sending',
    );
    await new RoomForHotClaims1732420000000().up(runner);
    assert.deepEqual(await schema(), head);
  } finally {
    await ds.query(`DELETE FROM deliveries WHERE tenant_id = 't_mig'`);
    await ds.query(`DELETE FROM tenants WHERE id = 't_mig'`);
    await runner.release();
  }
});

test('DeliveryLogIndexes: down restores the initial schema and up applies the log indexes again', async () => {
  const migration = new DeliveryLogIndexes1732360000000();
  const runner = ds.createQueryRunner();
  // The later RoomForHotClaims, AscendingLogIndexes and HotClaims migrations are taken back first,
  // and applied again at the end.
  const room = new RoomForHotClaims1732420000000();
  const ascending = new AscendingLogIndexes1732410000000();
  const hotClaims = new HotClaims1732370000000();
  await room.down(runner);
  await ascending.down(runner);
  await hotClaims.down(runner);
  const up = await schema();
  assert.ok(up.indexes.deliveries_endpoint_status_idx);
  assert.match(up.indexes.deliveries_unsettled_idx, /WHERE \(status <> 'succeeded'::text\)/);
  assert.match(up.indexes.deliveries_due_idx, /next_attempt_at IS NOT NULL/);
  assert.match(up.indexes.deliveries_lease_idx, /lease_expires_at IS NOT NULL/);
  assert.deepEqual(up.stats, ['deliveries_endpoint_tenant_deps']);
  assert.deepEqual(up.options, ['autovacuum_analyze_scale_factor=0.02']);

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
    await hotClaims.up(runner);
    await ascending.up(runner);
    await room.up(runner);
  } finally {
    await runner.release();
  }
});

test('DeliveriesWithoutForeignKeys: down brings back the two foreign keys, up takes them away', async () => {
  const keys = async (): Promise<string[]> =>
    (
      await ds.query(
        `SELECT conname FROM pg_constraint
          WHERE contype = 'f' AND conrelid IN ('deliveries'::regclass, 'attempts'::regclass)
          ORDER BY conname`,
      )
    ).map((r: { conname: string }) => r.conname);
  assert.deepEqual(await keys(), []);
  const migration = new DeliveriesWithoutForeignKeys1732400000000();
  const runner = ds.createQueryRunner();
  // Rows the keys would refuse (none can be written now, but going back must not fail on them):
  // a delivery whose event is gone, with its attempt, and an attempt whose delivery is gone.
  await ds.query(
    `INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, max_attempts)
     VALUES ('dlv_orphan', 't_gone', 'evt_gone', 'ep_gone', 'a.b', 'succeeded', 5)`,
  );
  await ds.query(
    `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms)
     VALUES ('att_orphan_1', 'dlv_orphan', 1, now(), 1), ('att_orphan_2', 'dlv_gone', 1, now(), 1)`,
  );
  try {
    await migration.down(runner);
    assert.deepEqual(await keys(), ['attempts_delivery_id_fkey', 'deliveries_event_id_fkey']);
    const left = await ds.query(
      `SELECT id FROM deliveries WHERE id = 'dlv_orphan'
       UNION ALL SELECT id FROM attempts WHERE id LIKE 'att_orphan_%'`,
    );
    assert.deepEqual(left, [], 'the orphans were deleted before the keys came back');
    await migration.up(runner);
    assert.deepEqual(await keys(), []);
  } finally {
    await runner.release();
  }
});

test('AscendingLogIndexes: down makes the four log indexes descending again, up ascending, leaving an index built beforehand alone and building an invalid one again', async () => {
  const LOG_INDEXES = [
    ['deliveries_tenant_status_idx', '(tenant_id, status, id'],
    ['deliveries_tenant_type_idx', '(tenant_id, event_type, id'],
    ['deliveries_endpoint_status_idx', '(endpoint_id, status, id'],
    ['deliveries_unsettled_idx', '(status, id'],
  ];
  const migration = new AscendingLogIndexes1732410000000();
  const head = await schema();
  for (const [name, columns] of LOG_INDEXES)
    assert.ok(head.indexes[name].includes(`${columns})`), name);
  assert.match(head.indexes.deliveries_unsettled_idx, /WHERE \(status <> 'succeeded'::text\)$/);
  const runner = ds.createQueryRunner();
  try {
    await migration.down(runner);
    const down = await schema();
    for (const [name, columns] of LOG_INDEXES)
      assert.ok(down.indexes[name].includes(`${columns} DESC)`), down.indexes[name]);
    assert.match(down.indexes.deliveries_unsettled_idx, /WHERE \(status <> 'succeeded'::text\)$/);
    assert.equal(Object.keys(down.indexes).length, Object.keys(head.indexes).length);

    // An operator builds one index online under another name and renames it, as the migration's
    // comment says: up must not drop and build it again (its oid stays the same).
    await ds.query(
      `CREATE INDEX deliveries_tenant_type_asc ON deliveries (tenant_id, event_type, id)`,
    );
    await ds.query(`DROP INDEX deliveries_tenant_type_idx`);
    await ds.query(`ALTER INDEX deliveries_tenant_type_asc RENAME TO deliveries_tenant_type_idx`);
    // Another is ascending but invalid, as a failed CREATE INDEX CONCURRENTLY leaves it: rebuilt.
    await ds.query(`DROP INDEX deliveries_endpoint_status_idx`);
    await ds.query(
      `CREATE INDEX deliveries_endpoint_status_idx ON deliveries (endpoint_id, status, id)`,
    );
    await ds.query(
      `UPDATE pg_index SET indisvalid = false
        WHERE indexrelid = 'deliveries_endpoint_status_idx'::regclass`,
    );
    const oid = async (name: string) =>
      (await ds.query(`SELECT $1::regclass::oid AS oid`, [name]))[0].oid;
    const kept = await oid('deliveries_tenant_type_idx');
    const invalid = await oid('deliveries_endpoint_status_idx');
    await migration.up(runner);
    assert.deepEqual(await schema(), head);
    assert.equal(
      await oid('deliveries_tenant_type_idx'),
      kept,
      'the index built beforehand was kept',
    );
    assert.notEqual(
      await oid('deliveries_endpoint_status_idx'),
      invalid,
      'the invalid one was rebuilt',
    );
    const [{ valid }] = await ds.query(
      `SELECT indisvalid AS valid FROM pg_index
        WHERE indexrelid = 'deliveries_endpoint_status_idx'::regclass`,
    );
    assert.equal(valid, true);
  } finally {
    await runner.release();
  }
});

test('RoomForHotClaims: deliveries pages are filled to 50 %, and to 80 % again on the way down', async () => {
  const migration = new RoomForHotClaims1732420000000();
  const head = await schema();
  assert.deepEqual(head.options, ['autovacuum_analyze_scale_factor=0.02', 'fillfactor=50']);
  const runner = ds.createQueryRunner();
  try {
    await migration.down(runner);
    assert.deepEqual((await schema()).options, [
      'autovacuum_analyze_scale_factor=0.02',
      'fillfactor=80',
    ]);
    await migration.up(runner);
    assert.deepEqual(await schema(), head);
  } finally {
    await runner.release();
  }
});
