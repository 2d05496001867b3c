// The delivery log's four (..., id DESC) indexes are rebuilt as (..., id): the same scans, read
// backwards for ORDER BY id DESC, but cheaper to insert into. Ids grow with time, so a new delivery
// sorts last in its (tenant, status), (tenant, type), (endpoint, status) or (status) group. In an
// ascending index that is the group's right end, where Postgres recognises inserts that keep
// landing just after the previous one and splits a full page there, leaving the old page full. In
// a descending index it is the group's left end: every split halved a page and the older half
// stayed half empty. In bench/replay-statements.js (ingest, claims and result writes of 40,000
// deliveries) the table and its indexes take 1,043 bytes per delivery instead of 1,207, and
// Postgres 91-109 us of CPU per delivery instead of 108-121 (three alternating pairs; the result
// write gains most, as its new 'succeeded' entries now land at the right end too).
//
// The migration runs in one transaction, and DROP INDEX locks the table against reads and writes
// alike until it commits, so on a large install the four builds are an outage of the delivery
// log and the dispatcher. Build each index online first instead, and the migration leaves it
// alone (it rebuilds only an index that is not already valid and ascending, as defined below):
//   CREATE INDEX CONCURRENTLY deliveries_tenant_status_asc ON deliveries (tenant_id, status, id);
//   DROP INDEX CONCURRENTLY deliveries_tenant_status_idx;
//   ALTER INDEX deliveries_tenant_status_asc RENAME TO deliveries_tenant_status_idx;
// and the same for the other three (definitions below).
import { MigrationInterface, QueryRunner } from 'typeorm';

/** Each index: name, columns before id, and the partial index's predicate. */
const INDEXES: [name: string, columns: string, where: string][] = [
  ['deliveries_tenant_status_idx', 'tenant_id, status', ''],
  ['deliveries_tenant_type_idx', 'tenant_id, event_type', ''],
  ['deliveries_endpoint_status_idx', 'endpoint_id, status', ''],
  ['deliveries_unsettled_idx', 'status', ` WHERE status <> 'succeeded'`],
];

async function rebuild(q: QueryRunner, order: '' | ' DESC'): Promise<void> {
  const rows: { name: string; def: string; valid: boolean }[] = await q.query(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def, i.indisvalid AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = 'deliveries'::regclass`,
  );
  const found = new Map(rows.map((r) => [r.name, r]));
  for (const [name, columns, where] of INDEXES) {
    const index = found.get(name);
    // Already as wanted (built online beforehand, or a rerun): left alone. An index a failed
    // CREATE INDEX CONCURRENTLY left invalid is built again.
    const same =
      index !== undefined &&
      index.def.includes(` USING btree (${columns}, id${order})`) &&
      index.def.includes(' WHERE ') === (where !== '');
    if (index?.valid && same) continue;
    await q.query(`DROP INDEX IF EXISTS ${name}`);
    await q.query(`CREATE INDEX ${name} ON deliveries (${columns}, id${order})${where}`);
  }
}

export class AscendingLogIndexes1732410000000 implements MigrationInterface {
  name = 'AscendingLogIndexes1732410000000';

  async up(q: QueryRunner): Promise<void> {
    await rebuild(q, '');
  }

  async down(q: QueryRunner): Promise<void> {
    await rebuild(q, ' DESC');
  }
}
