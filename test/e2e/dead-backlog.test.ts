// A big backlog for endpoints that never answer must not hold up a healthy endpoint's new
// deliveries. Before its first attempt times out (DELIVERY_TIMEOUT_MS, 15 s by default) nothing
// says such an endpoint is failing, yet its line fills; past the dispatcher's backpressure mark
// (50,000 deliveries waiting in lines of endpoints not known to be failing) every queue job waited
// for those lines to drain, which they cannot until the timeouts: a healthy endpoint's new event
// waited the whole DELIVERY_TIMEOUT_MS. An endpoint whose sends are all out and none has come back
// for a second is now treated as failing for the lines' bounds and for backpressure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerResponse } from 'node:http';
import {
  createEndpoint,
  createEventType,
  createTenant,
  Receiver,
  RunningTern,
  startReceiver,
  startTern,
} from '../support/harness';

const DEAD_ENDPOINTS = 12;
// x 12 endpoints: 96,000 deliveries, in wake-up jobs of 1,000: past the 50,000 mark by more jobs
// than the worker takes at once (20), so with every job slot waiting, a new job waits too.
const EVENTS = 8_000;
const TIMEOUT_MS = 30_000;

let t: RunningTern;
const receivers: Receiver[] = [];
const hung: ServerResponse[] = [];

before(async () => {
  t = await startTern({
    DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
    RETRY_SCHEDULE: '1h',
    SHUTDOWN_GRACE_MS: '200',
  });
  await createEventType(t.api, 'order.paid');
});

after(async () => {
  for (const res of hung) res.destroy();
  for (const r of receivers) await r.close();
  await t?.close();
});

test('a healthy endpoint gets a new event within seconds beside 96,000 deliveries to endpoints that never answer', async () => {
  const dead = await startReceiver((_req, res) => void hung.push(res));
  const healthy = await startReceiver();
  receivers.push(dead, healthy);
  const busy = await createTenant(t.api);
  for (let i = 0; i < DEAD_ENDPOINTS; i++)
    await createEndpoint(t.api, busy.id, { url: `${dead.url}/${i}`, eventTypes: ['order.paid'] });
  const other = await createTenant(t.api);
  await createEndpoint(t.api, other.id, { url: healthy.url, eventTypes: ['order.paid'] });

  for (let sent = 0; sent < EVENTS; sent += 500) {
    const events = Array.from({ length: 500 }, (_, i) => ({
      type: 'order.paid',
      data: { i: sent + i },
    }));
    const r = await t.api.post(`/v1/tenants/${busy.id}/events/batch`, { events });
    assert.equal(r.status, 202, JSON.stringify(r.body));
  }
  // Every dead endpoint has its ENDPOINT_CONCURRENCY sends out and unanswered.
  await dead.waitFor(DEAD_ENDPOINTS * 16, 20_000);

  const started = Date.now();
  const r = await t.api.post(`/v1/tenants/${other.id}/events`, {
    type: 'order.paid',
    data: { healthy: true },
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const [got] = await healthy.waitFor(1, 10_000);
  assert.equal(got.headers['webhook-id'], r.body.id);
  const waited = Date.now() - started;
  assert.ok(
    waited < 5_000,
    `delivered after ${waited} ms (the dead sends time out at ${TIMEOUT_MS})`,
  );
  assert.equal(
    dead.requests.length,
    DEAD_ENDPOINTS * 16,
    'no dead endpoint got more than its slots',
  );
});
