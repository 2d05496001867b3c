// The last two foreign keys on the delivery path go: deliveries -> events and attempts ->
// deliveries. Postgres checks a foreign key with a lookup and a row lock on the parent for every
// row inserted, and the ingest statement inserts one delivery row per subscribed endpoint: 90 rows
// of 9 events took 3.8 ms with the key and 2.8 ms without (pgbench, one client, fresh database),
// about 11 us of Postgres per delivery row, and as much again per attempt row. Both are kept right
// by the statements that write them:
// - a delivery is inserted only with its event, in the same statement (`WHERE d.event_id IN (SELECT
//   id FROM ev)`), and events are never deleted but with their tenant;
// - an attempt is inserted only for a delivery row the same statement has just updated (the result
//   write), or that its transaction holds locked (the lease sweep).
// Deleting a tenant deletes its attempts and deliveries itself (TenantsService.remove), in the
// transaction that deletes the tenant, which still takes its events, endpoints, keys and alerts
// with it through ON DELETE CASCADE.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class DeliveriesWithoutForeignKeys1732400000000 implements MigrationInterface {
  name = 'DeliveriesWithoutForeignKeys1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_event_id_fkey`);
    await q.query(`ALTER TABLE attempts DROP CONSTRAINT IF EXISTS attempts_delivery_id_fkey`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Rows the keys would refuse cannot exist while the code above writes them; deleted first all
    // the same, so that going back never fails halfway: deliveries without their event, then
    // attempts without their delivery (those of the deliveries just deleted among them).
    await q.query(
      `DELETE FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id)`,
    );
    await q.query(
      `DELETE FROM attempts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id)`,
    );
    await q.query(
      `ALTER TABLE deliveries ADD CONSTRAINT deliveries_event_id_fkey
         FOREIGN KEY (event_id) REFERENCES events(id) ON DELETE CASCADE`,
    );
    await q.query(
      `ALTER TABLE attempts ADD CONSTRAINT attempts_delivery_id_fkey
         FOREIGN KEY (delivery_id) REFERENCES deliveries(id) ON DELETE CASCADE`,
    );
  }
}
