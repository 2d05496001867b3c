// Keeps every delivery log page an ordered index scan that stops after one page (measured in
// bench/log-queries.md at 1M deliveries):
// - (endpoint_id, status, id DESC): endpointId + status (and the lifecycle updates of an
//   endpoint's pending/paused deliveries);
// - (status, id DESC) for every status but succeeded: the operator's cross-tenant status filter.
//   Partial, so it stays small and a delivery leaves it when it succeeds;
// - the dispatcher's partial indexes (due, lease) also require their timestamp to be set. Same
//   rows (a pending delivery always has next_attempt_at, a sending one lease_expires_at), and every
//   dispatcher query compares that timestamp, which implies IS NOT NULL, so they still use them.
//   But `status = 'pending'` alone no longer matches them: the log planner used to read the whole
//   due index and sort it whenever pending looked rare, which took 100-250 ms after a sudden
//   backlog of 100k pending deliveries, until the next ANALYZE;
// - functional-dependency statistics telling the planner that endpoint_id decides tenant_id.
//   Without them it multiplies both selectivities, underestimates `tenant_id = $1 AND
//   endpoint_id = $2` ~15-fold and prefers a BitmapAnd plus sort over the ordered scan;
// - ANALYZE after 2 % of the rows changed instead of 10 %, so status counts stay close to the truth.
// IF NOT EXISTS lets an operator build the two new indexes first with CREATE INDEX CONCURRENTLY on
// a large table (migrations run in one transaction, where CONCURRENTLY is not allowed); the due and
// lease indexes are small (only in-flight deliveries), so rebuilding them here is quick.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class DeliveryLogIndexes1732360000000 implements MigrationInterface {
  name = 'DeliveryLogIndexes1732360000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX IF NOT EXISTS deliveries_endpoint_status_idx ON deliveries (endpoint_id, status, id DESC)`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS deliveries_unsettled_idx ON deliveries (status, id DESC) WHERE status <> 'succeeded'`,
    );
    await q.query(`DROP INDEX IF EXISTS deliveries_due_idx`);
    await q.query(
      `CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending' AND next_attempt_at IS NOT NULL`,
    );
    await q.query(`DROP INDEX IF EXISTS deliveries_lease_idx`);
    await q.query(
      `CREATE INDEX deliveries_lease_idx ON deliveries (lease_expires_at) WHERE status = 'sending' AND lease_expires_at IS NOT NULL`,
    );
    await q.query(
      `CREATE STATISTICS IF NOT EXISTS deliveries_endpoint_tenant_deps (dependencies) ON endpoint_id, tenant_id FROM deliveries`,
    );
    await q.query(`ALTER TABLE deliveries SET (autovacuum_analyze_scale_factor = 0.02)`);
    // Extended statistics are empty until the next ANALYZE; it samples, so it is quick at any size.
    await q.query(`ANALYZE deliveries`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries RESET (autovacuum_analyze_scale_factor)`);
    await q.query(`DROP STATISTICS IF EXISTS deliveries_endpoint_tenant_deps`);
    await q.query(`DROP INDEX IF EXISTS deliveries_lease_idx`);
    await q.query(
      `CREATE INDEX deliveries_lease_idx ON deliveries (lease_expires_at) WHERE status = 'sending'`,
    );
    await q.query(`DROP INDEX IF EXISTS deliveries_due_idx`);
    await q.query(
      `CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending'`,
    );
    await q.query(`DROP INDEX IF EXISTS deliveries_unsettled_idx`);
    await q.query(`DROP INDEX IF EXISTS deliveries_endpoint_status_idx`);
  }
}
