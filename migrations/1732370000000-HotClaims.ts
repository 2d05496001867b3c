// Claims become HOT updates. A claim used to move a delivery to status 'sending' under a lease; as
// status and lease_expires_at are indexed, Postgres wrote a new entry into every index of
// deliveries for each claim, a third of all index writes and the largest cost Postgres had. Now a
// delivery in flight keeps status 'pending' with its claim_id set (the API shows it as `sending`),
// and the claim changes only columns no index covers (claim_id, lease_expires_at, attempts,
// updated_at): a heap-only update, with no index writes at all, when its page has room. Hence:
// - the lease index goes; the sweeper finds expired leases among the pending rows of the due index;
// - deliveries pages are filled to 80 % on insert, leaving room for the claimed version.
// Rows that are 'sending' now (a worker is mid-attempt during the upgrade) are turned into the new
// form, and back on the way down.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class HotClaims1732370000000 implements MigrationInterface {
  name = 'HotClaims1732370000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE deliveries SET status = 'pending' WHERE status = 'sending'`);
    await q.query(`DROP INDEX IF EXISTS deliveries_lease_idx`);
    await q.query(`ALTER TABLE deliveries SET (fillfactor = 80)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries RESET (fillfactor)`);
    await q.query(
      `UPDATE deliveries SET status = 'sending' WHERE status = 'pending' AND claim_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS deliveries_lease_idx ON deliveries (lease_expires_at)
        WHERE status = 'sending' AND lease_expires_at IS NOT NULL`,
    );
  }
}
