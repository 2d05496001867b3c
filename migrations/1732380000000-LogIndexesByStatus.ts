// Two indexes fewer on deliveries. A tenant's and an endpoint's log without a status filter is now
// read one status at a time from (tenant_id, status, id DESC) and (endpoint_id, status, id DESC)
// (src/deliveries/delivery-log.query.ts), so (tenant_id, id DESC) and (endpoint_id, id DESC) are no
// longer needed. Every insert and every result write paid an entry in each: with seven indexes
// left instead of nine, a delivery costs Postgres four index insertions fewer over its life.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class LogIndexesByStatus1732380000000 implements MigrationInterface {
  name = 'LogIndexesByStatus1732380000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS deliveries_tenant_idx`);
    await q.query(`DROP INDEX IF EXISTS deliveries_endpoint_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX IF NOT EXISTS deliveries_tenant_idx ON deliveries (tenant_id, id DESC)`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS deliveries_endpoint_idx ON deliveries (endpoint_id, id DESC)`,
    );
  }
}
