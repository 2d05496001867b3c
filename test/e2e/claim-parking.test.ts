// What the claim does with a due delivery whose endpoint changed after it was woken: disabled, it
// is parked (`paused`), deleted, it is `cancelled`, neither is sent nor counted as an attempt; a
// manual retry still goes to a disabled endpoint. The rows are written directly, as a wake-up that
// raced the change would find them, and the sweeper wakes them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  Receiver,
  RunningTern,
  startReceiver,
  startTern,
} from '../support/harness';
import { LogRows } from '../support/log-rows';

let t: RunningTern;
let rcv: Receiver;
let rows: LogRows;

before(async () => {
  t = await startTern({ SWEEP_INTERVAL_MS: '300' });
  rcv = await startReceiver();
  rows = await LogRows.connect(t.databaseUrl);
  await createEventType(t.api, 'claim.parked');
});

after(async () => {
  await rows?.close();
  await rcv?.close();
  await t?.close();
});

/** A due, unclaimed delivery to a new endpoint, which `change` then alters behind Tern's back. */
async function dueDelivery(
  name: string,
  change: string,
  manualRetry = false,
): Promise<{ id: string; eventId: string }> {
  const tenant = await createTenant(t.api);
  const ep = await createEndpoint(t.api, tenant.id, {
    url: `${rcv.url}/claim-${name}`,
    eventTypes: ['claim.parked'],
  });
  await rows.db.query(`UPDATE endpoints SET ${change} WHERE id = $1`, [ep.id]);
  const now = new Date();
  const eventId = await rows.event(tenant.id, 'claim.parked', now);
  const id = await rows.delivery({
    tenantId: tenant.id,
    eventId,
    endpointId: ep.id,
    eventType: 'claim.parked',
    status: 'pending',
    nextAttemptAt: new Date(now.getTime() - 60_000),
    manualRetry,
    createdAt: now,
  });
  return { id, eventId };
}

const row = async (id: string) =>
  (
    await rows.db.query(
      `SELECT status, attempts, claim_id, next_attempt_at, lease_expires_at FROM deliveries
        WHERE id = $1`,
      [id],
    )
  ).rows[0];

test('a due delivery whose endpoint was disabled is paused at its claim, unsent and uncounted', async () => {
  const { id, eventId } = await dueDelivery('disabled', 'enabled = false');
  const parked = await eventually(async () => {
    const r = await row(id);
    return r.status !== 'pending' && r;
  });
  assert.equal(parked.status, 'paused');
  assert.equal(parked.attempts, 0);
  assert.equal(parked.claim_id, null);
  assert.equal(parked.next_attempt_at, null);
  assert.equal(parked.lease_expires_at, null);
  assert.ok(!rcv.requests.some((r) => r.headers['webhook-id'] === eventId), 'not sent');
  const attempts = await rows.db.query(`SELECT 1 FROM attempts WHERE delivery_id = $1`, [id]);
  assert.equal(attempts.rowCount, 0);
});

test('a due delivery whose endpoint was deleted is cancelled at its claim', async () => {
  const { id, eventId } = await dueDelivery('deleted', 'deleted_at = now()');
  const parked = await eventually(async () => {
    const r = await row(id);
    return r.status !== 'pending' && r;
  });
  assert.equal(parked.status, 'cancelled');
  assert.equal(parked.attempts, 0);
  assert.ok(!rcv.requests.some((r) => r.headers['webhook-id'] === eventId), 'not sent');
});

test('a manual retry is claimed and sent to a disabled endpoint, as one attempt', async () => {
  const { id, eventId } = await dueDelivery('manual', 'enabled = false', true);
  await eventually(
    async () => rcv.requests.some((r) => r.headers['webhook-id'] === eventId),
    10_000,
    'the manual retry sent',
  );
  const done = await eventually(async () => {
    const r = await row(id);
    return r.status === 'succeeded' && r;
  });
  assert.equal(done.attempts, 1);
  assert.equal(done.claim_id, null);
  assert.equal(done.lease_expires_at, null);
});
