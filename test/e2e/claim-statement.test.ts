// The claim statement on its own, with no dispatcher racing it: what a claimed row looks like (still
// pending, its next_attempt_at kept, which keeps the update heap-only and lets the lease sweep find
// it), what the caller gets back, and that a second claim of the same rows is a no-op.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../support/harness';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { DeliveryClaimsService } from '../../src/deliveries/delivery-claims.service';

let db: { url: string; drop: () => Promise<void> };
let ds: DataSource;
let claims: DeliveryClaimsService;

before(async () => {
  db = await freshDatabase();
  await runMigrations(db.url);
  ds = new DataSource(dataSourceOptions(db.url, 2));
  await ds.initialize();
  claims = new DeliveryClaimsService(ds);
  await ds.query(`INSERT INTO tenants (id, name) VALUES ('t_c', 't')`);
  await ds.query(
    `INSERT INTO endpoints (id, tenant_id, url, secret, enabled)
     VALUES ('ep_on', 't_c', 'http://127.0.0.1:9/on', 'whsec_on', true),
            ('ep_off', 't_c', 'http://127.0.0.1:9/off', 'whsec_off', false)`,
  );
  await ds.query(
    `INSERT INTO events (id, tenant_id, type, body) VALUES ('evt_c', 't_c', 'a.b', '{"x":1}')`,
  );
  await ds.query(
    `INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, max_attempts,
                             next_attempt_at)
     VALUES ('dlv_c_on', 't_c', 'evt_c', 'ep_on', 'a.b', 'pending', 5, now() - interval '1 second'),
            ('dlv_c_off', 't_c', 'evt_c', 'ep_off', 'a.b', 'pending', 5, now() - interval '1 second'),
            ('dlv_c_later', 't_c', 'evt_c', 'ep_on', 'a.b', 'pending', 5, now() + interval '1 hour')`,
  );
});

after(async () => {
  await ds?.destroy();
  await db?.drop();
});

test('a claim holds a due row with its status and next attempt kept, and returns what to send', async () => {
  const before = (await ds.query(`SELECT next_attempt_at FROM deliveries WHERE id = 'dlv_c_on'`))[0]
    .next_attempt_at;
  const claimId = randomUUID();
  const got = await claims.claim(['dlv_c_later', 'dlv_c_off', 'dlv_c_on'], claimId, 30_000);
  assert.deepEqual(
    got.map((c) => c.id),
    ['dlv_c_on'],
    'only the due row of an enabled endpoint',
  );
  assert.equal(got[0].attempt, 1);
  assert.equal(got[0].claimId, claimId);
  assert.equal(got[0].body, '{"x":1}');
  assert.equal(got[0].url, 'http://127.0.0.1:9/on');
  assert.deepEqual(got[0].secrets, ['whsec_on']);
  const rows = await ds.query(
    `SELECT id, status, claim_id, attempts, next_attempt_at,
            lease_expires_at > now() + interval '25 seconds' AS leased
       FROM deliveries WHERE tenant_id = 't_c' ORDER BY id`,
  );
  const byId = Object.fromEntries(rows.map((r: { id: string }) => [r.id, r]));
  assert.equal(byId.dlv_c_on.status, 'pending', 'in flight, stored pending');
  assert.equal(byId.dlv_c_on.claim_id, claimId);
  assert.equal(byId.dlv_c_on.attempts, 1);
  assert.equal(byId.dlv_c_on.next_attempt_at.getTime(), before.getTime());
  assert.equal(byId.dlv_c_on.leased, true);
  assert.equal(byId.dlv_c_off.status, 'paused');
  assert.equal(byId.dlv_c_later.status, 'pending', 'not due: left alone');
  assert.equal(byId.dlv_c_later.claim_id, null);
  assert.equal(byId.dlv_c_later.attempts, 0);

  const again = await claims.claim(['dlv_c_on', 'dlv_c_off'], randomUUID(), 30_000);
  assert.deepEqual(again, [], 'a second claim of the same rows takes nothing');
  const [row] = await ds.query(`SELECT claim_id, attempts FROM deliveries WHERE id = 'dlv_c_on'`);
  assert.equal(row.claim_id, claimId);
  assert.equal(row.attempts, 1);
});
