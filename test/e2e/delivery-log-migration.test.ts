// The DeliveryLogIndexes, HotClaims, LogIndexesByStatus, DeliveriesWithoutForeignKeys,
// AscendingLogIndexes, RoomForHotClaims and DeliveryIndexesThroughEvents migrations go down and up
// again cleanly on a migrated database, and each test leaves it as every migration made it.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../support/harness';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { deliveryId, deliveryIdSql, newId } from '../../src/common/ids';
import { deliveryLogQuery, eventDeliveriesSql } from '../../src/deliveries/delivery-log.query';
import { DeliveryLogIndexes1732360000000 } from '../../migrations/1732360000000-DeliveryLogIndexes';
import { HotClaims1732370000000 } from '../../migrations/1732370000000-HotClaims';
import { LogIndexesByStatus1732380000000 } from '../../migrations/1732380000000-LogIndexesByStatus';
import { DeliveriesWithoutForeignKeys1732400000000 } from '../../migrations/1732400000000-DeliveriesWithoutForeignKeys';
import { AscendingLogIndexes1732410000000 } from '../../migrations/1732410000000-AscendingLogIndexes';
import { RoomForHotClaims1732420000000 } from '../../migrations/1732420000000-RoomForHotClaims';
import { DeliveryIndexesThroughEvents1732430000000 } from '../../migrations/1732430000000-DeliveryIndexesThroughEvents';

let db: { url: string; drop: () => Promise<void> };
let ds: DataSource;
/** The schema every migration makes, to which each test must bring the database back. */
let HEAD: Awaited<ReturnType<typeof schema>>;

before(async () => {
  db = await freshDatabase();
  await runMigrations(db.url);
  ds = new DataSource(dataSourceOptions(db.url, 2));
  await ds.initialize();
  HEAD = await schema();
});

afterEach(async () => {
  assert.deepEqual(await schema(), HEAD, 'the test left the schema as every migration made it');
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
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('deliveries', 'events')`,
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
  const throughEvents = new DeliveryIndexesThroughEvents1732430000000();
  const room = new RoomForHotClaims1732420000000();
  const ascending = new AscendingLogIndexes1732410000000();
  const hotClaims = new HotClaims1732370000000();
  await throughEvents.down(runner);
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
    await throughEvents.up(runner);
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
  const throughEvents = new DeliveryIndexesThroughEvents1732430000000();
  const runner = ds.createQueryRunner();
  try {
    await throughEvents.down(runner);
    const head = await schema();
    for (const [name, columns] of LOG_INDEXES)
      assert.ok(head.indexes[name].includes(`${columns})`), name);
    assert.match(head.indexes.deliveries_unsettled_idx, /WHERE \(status <> 'succeeded'::text\)$/);
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
    await throughEvents.up(runner);
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

test('DeliveryIndexesThroughEvents: an event and a type are found through events and the primary key; down brings the old indexes back', async () => {
  const migration = new DeliveryIndexesThroughEvents1732430000000();
  const head = await schema();
  assert.equal(head.indexes.deliveries_event_idx, undefined);
  assert.equal(head.indexes.deliveries_tenant_type_idx, undefined);
  assert.match(
    head.indexes.deliveries_unsettled_idx,
    /\(status, id\) WHERE \(status <> ALL \(ARRAY\['succeeded'::text, 'pending'::text\]\)\)$/,
  );
  assert.match(
    head.indexes.events_type_idx,
    /\(tenant_id, type, \(\(\('dlv_'::text \|\| substr\(id, 5, 10\)\) \|\| "right"\(id, 12\)\)\)\)$/,
  );
  for (const name of ['deliveries_legacy_event_idx', 'deliveries_legacy_type_idx'])
    assert.match(head.indexes[name], /WHERE \("left"\(id, 26\) <> /, name);

  // One delivery as ingestion makes it and one with an id of its own (written before ids came
  // from events): the event's lookup and the type's walk find both, through the indexes.
  await ds.query(`INSERT INTO tenants (id, name) VALUES ('t_through', 't')`);
  const event = newId('evt');
  const made = deliveryId(event, 0);
  const legacy = newId('dlv');
  await ds.query(
    `INSERT INTO events (id, tenant_id, type, body) VALUES ($1, 't_through', 'a.b', '{}')`,
    [event],
  );
  await ds.query(
    `INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, max_attempts)
     VALUES ($1, 't_through', $3, 'ep_x', 'a.b', 'succeeded', 5),
            ($2, 't_through', $3, 'ep_y', 'a.b', 'failed', 5)`,
    [made, legacy, event],
  );
  // Another tenant's 20,000 events and deliveries around them, so that plans are made as on a
  // table where scanning would lose.
  await ds.query(`INSERT INTO tenants (id, name) VALUES ('t_around', 't')`);
  await ds.query(
    `INSERT INTO events (id, tenant_id, type, body)
     SELECT 'evt_' || lpad(g::text, 10, '0') || lpad(g::text, 16, '0'), 't_around', 'a.b', '{}'
       FROM generate_series(1, 20000) g`,
  );
  await ds.query(
    `INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, max_attempts)
     SELECT ${deliveryIdSql('id', '0')}, tenant_id, id, 'ep_z', type, 'succeeded', 5
       FROM events WHERE tenant_id = 't_around'`,
  );
  await ds.query('ANALYZE events');
  await ds.query('ANALYZE deliveries');
  const runner = ds.createQueryRunner();
  try {
    await runner.query('BEGIN');
    const scans = async (sql: string, params: unknown[]) => {
      const [{ 'QUERY PLAN': plan }] = await runner.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      const found: string[] = [];
      const walk = (n: { 'Node Type': string; 'Index Name'?: string; Plans?: unknown[] }) => {
        if (n['Index Name']) found.push(n['Index Name']);
        else if (n['Node Type'] === 'Seq Scan') found.push('Seq Scan');
        for (const c of n.Plans ?? []) walk(c as typeof n);
      };
      walk(plan[0].Plan);
      return found.sort();
    };
    const byEvent = `SELECT id FROM deliveries WHERE ${eventDeliveriesSql('$1')} ORDER BY id`;
    assert.deepEqual(
      (await runner.query(byEvent, [event])).map((r: { id: string }) => r.id),
      [made, legacy].sort(),
    );
    assert.deepEqual(await scans(byEvent, [event]), [
      'deliveries_legacy_event_idx',
      'deliveries_pkey',
    ]);
    const byType = deliveryLogQuery({ tenantId: 't_through', eventType: 'a.b' }, 10);
    assert.deepEqual(
      (await runner.query(byType.sql, byType.params)).map((r: { id: string }) => r.id),
      [made, legacy].sort().reverse(),
    );
    // The walk through events_type_idx; each event's rows by its id range, or (this tenant has two
    // rows in all) by the tenant's own index; the legacy rows by theirs.
    const typeScans = await scans(byType.sql, byType.params);
    assert.equal(typeScans.length, 3, typeScans.join());
    assert.equal(typeScans[0], 'deliveries_legacy_type_idx');
    assert.match(typeScans[1], /^deliveries_(pkey|tenant_status_idx)$/);
    assert.equal(typeScans[2], 'events_type_idx');
    await runner.query('ROLLBACK');

    await migration.down(runner);
    const down = await schema();
    assert.match(down.indexes.deliveries_event_idx, /\(event_id\)$/);
    assert.match(down.indexes.deliveries_tenant_type_idx, /\(tenant_id, event_type, id\)$/);
    assert.match(down.indexes.deliveries_unsettled_idx, /WHERE \(status <> 'succeeded'::text\)$/);
    for (const name of [
      'deliveries_legacy_event_idx',
      'deliveries_legacy_type_idx',
      'events_type_idx',
    ])
      assert.equal(down.indexes[name], undefined, name);

    // An index an operator built online beforehand, as defined, is kept (its oid stays).
    await ds.query(
      `CREATE INDEX events_type_idx ON events
         (tenant_id, type, ('dlv_' || substr(id, 5, 10) || right(id, 12)))`,
    );
    const oid = async (name: string) =>
      (await ds.query(`SELECT $1::regclass::oid AS oid`, [name]))[0].oid;
    const built = await oid('events_type_idx');
    await migration.up(runner);
    assert.equal(await oid('events_type_idx'), built);
  } finally {
    await ds.query(`DELETE FROM deliveries WHERE tenant_id IN ('t_through', 't_around')`);
    await ds.query(`DELETE FROM events WHERE tenant_id IN ('t_through', 't_around')`);
    await ds.query(`DELETE FROM tenants WHERE id IN ('t_through', 't_around')`);
    await runner.release();
  }
});
