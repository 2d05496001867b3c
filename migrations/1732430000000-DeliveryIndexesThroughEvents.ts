// Three index entries fewer for every delivery written. Every delivery row is inserted with an entry
// in each index of deliveries, and a delivery that is never sent (an endpoint that never answers)
// costs the others little else: the isolation benchmark's healthy endpoints lose their throughput
// to these entries (bench/README.md, fourteenth session).
// - deliveries_event_idx (event_id) goes. Every delivery id is made from its event's id
//   (src/common/ids.ts, deliveryId), so an event's deliveries are one range of the primary key:
//   `id BETWEEN prefix || '0000' AND prefix || 'zzzz'` (src/deliveries/delivery-log.query.ts,
//   eventDeliveriesSql).
// - deliveries_tenant_type_idx (tenant_id, event_type, id) goes. A tenant's log of one event type
//   walks the tenant's events of that type through events_type_idx, ordered as their deliveries'
//   ids are (the delivery id prefix), and reads each event's deliveries by that range. An event is
//   one entry where its fan-out was one per delivery.
// - deliveries_unsettled_idx (status, id) leaves out pending rows: a new delivery is pending, and
//   a healthy one goes on to succeeded, so most deliveries never need an entry there. It now holds
//   the failed, paused and cancelled ones (and 'sending' rows of workers older than HotClaims) for
//   the cross-tenant log by status. That log's pending and sending pages read deliveries_due_idx
//   instead, and sort what they find (every pending row has a next attempt time).
// A new row now has an entry in four indexes (the primary key, the due index, and the tenant's and
// the endpoint's by status) where it had seven. Deliveries written before ids came from events (up
// to 2026-12-01) do not sit in their event's range: two partial indexes hold those rows alone,
// under the predicate below, so they are still found by event and by type. On an install that
// never had such rows both stay empty, and a new row pays only the predicate's check.
//
// The migration runs in one transaction. Each CREATE INDEX reads its whole table and holds writes
// to it until the migration commits, and each DROP INDEX (at the end) holds reads too: on a large
// install build the four new indexes online first, and the migration leaves an index already
// defined as below alone, then drops the old ones at once. For example:
//   CREATE INDEX CONCURRENTLY events_type_idx ON events (tenant_id, type, ('dlv_' || substr(id, 5, 10) || right(id, 12)));
//   CREATE INDEX CONCURRENTLY deliveries_legacy_event_idx ON deliveries (event_id) WHERE <LEGACY>;
//   CREATE INDEX CONCURRENTLY deliveries_legacy_type_idx ON deliveries (tenant_id, event_type, id) WHERE <LEGACY>;
//   CREATE INDEX CONCURRENTLY deliveries_unsettled_next ON deliveries (status, id) WHERE status NOT IN ('succeeded', 'pending');
//   DROP INDEX CONCURRENTLY deliveries_unsettled_idx;
//   ALTER INDEX deliveries_unsettled_next RENAME TO deliveries_unsettled_idx;
// (between the drop and the rename, the cross-tenant log by status reads the primary key).
import { MigrationInterface, QueryRunner } from 'typeorm';

/** A delivery id made before ids came from events: its first 26 characters are not its event's. */
const LEGACY = `left(id, 26) <> ('dlv_' || substr(event_id, 5, 10) || right(event_id, 12))`;

const UP: [name: string, table: string, definition: string][] = [
  [
    'events_type_idx',
    'events',
    `(tenant_id, type, ('dlv_' || substr(id, 5, 10) || right(id, 12)))`,
  ],
  ['deliveries_legacy_event_idx', 'deliveries', `(event_id) WHERE ${LEGACY}`],
  ['deliveries_legacy_type_idx', 'deliveries', `(tenant_id, event_type, id) WHERE ${LEGACY}`],
  [
    'deliveries_unsettled_idx',
    'deliveries',
    `(status, id) WHERE status NOT IN ('succeeded', 'pending')`,
  ],
];

const DOWN: [name: string, table: string, definition: string][] = [
  ['deliveries_event_idx', 'deliveries', `(event_id)`],
  ['deliveries_tenant_type_idx', 'deliveries', `(tenant_id, event_type, id)`],
  ['deliveries_unsettled_idx', 'deliveries', `(status, id) WHERE status <> 'succeeded'`],
];

/**
 * Builds each index unless one of that name is already valid and defined the same. One that exists
 * defined otherwise is replaced: the new one is built under another name first, and the old one
 * dropped and the new renamed only once every index is built, so that reads of the table go on
 * while they are.
 */
async function build(q: QueryRunner, wanted: typeof UP): Promise<void> {
  const replaced: string[] = [];
  for (const [name, table, definition] of wanted) {
    // Postgres' own spelling of the definition, to compare with an existing index's.
    await q.query(`DROP TABLE IF EXISTS pg_temp.tern_index_probe`);
    await q.query(`CREATE TEMP TABLE tern_index_probe (LIKE ${table})`);
    await q.query(`CREATE INDEX tern_index_probe_idx ON tern_index_probe ${definition}`);
    const [{ want }] = await q.query(
      `SELECT pg_get_indexdef('tern_index_probe_idx'::regclass) AS want`,
    );
    await q.query(`DROP TABLE tern_index_probe`);
    const found: { def: string; valid: boolean }[] = await q.query(
      `SELECT pg_get_indexdef(i.indexrelid) AS def, i.indisvalid AS valid
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = $1 AND i.indrelid = $2::regclass`,
      [name, table],
    );
    const same = (def: string) =>
      def.slice(def.indexOf(' USING ')) === want.slice(want.indexOf(' USING '));
    if (found[0]?.valid && same(found[0].def)) continue;
    const building = found.length ? `${name}_next` : name;
    await q.query(`DROP INDEX IF EXISTS ${building}`);
    await q.query(`CREATE INDEX ${building} ON ${table} ${definition}`);
    if (building !== name) replaced.push(name);
  }
  for (const name of replaced) {
    await q.query(`DROP INDEX ${name}`);
    await q.query(`ALTER INDEX ${name}_next RENAME TO ${name}`);
  }
}

export class DeliveryIndexesThroughEvents1732430000000 implements MigrationInterface {
  name = 'DeliveryIndexesThroughEvents1732430000000';

  async up(q: QueryRunner): Promise<void> {
    await build(q, UP);
    await q.query(`DROP INDEX IF EXISTS deliveries_event_idx`);
    await q.query(`DROP INDEX IF EXISTS deliveries_tenant_type_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await build(q, DOWN);
    await q.query(`DROP INDEX IF EXISTS deliveries_legacy_event_idx`);
    await q.query(`DROP INDEX IF EXISTS deliveries_legacy_type_idx`);
    await q.query(`DROP INDEX IF EXISTS events_type_idx`);
  }
}
