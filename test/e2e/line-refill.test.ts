// A line bounded for an endpoint that cannot keep up (DispatcherService.offer: a parked or
// rate-limited one) leaves the offers it has no room for in Postgres. It reads them back itself as
// it drains (DispatcherService.refill), instead of waiting for the sweeper to offer them again. Here
// the sweeper is off (one sweep in 10 minutes): without the refill, what the line dropped while the
// endpoint hung would not be delivered once it answers again.
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
import { LINE_LIMIT } from '../../src/dispatch/dispatcher.service';

// Half again what a parked line holds: a third of them are dropped.
const EVENTS = LINE_LIMIT * 1.5;

let t: RunningTern;
let rcv: Receiver;
const hung: ServerResponse[] = [];

before(async () => {
  t = await startTern({
    DELIVERY_TIMEOUT_MS: '1000',
    RETRY_SCHEDULE: '200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms',
    SWEEP_INTERVAL_MS: '600000',
    SHUTDOWN_GRACE_MS: '200',
  });
  await createEventType(t.api, 'order.paid');
  rcv = await startReceiver((_req, res) => void hung.push(res));
});

after(async () => {
  for (const res of hung) res.destroy();
  await rcv?.close();
  await t?.close();
});

test('an endpoint that hung gets every delivery its parked line had no room for once it answers, without the sweeper', async () => {
  const tenant = await createTenant(t.api);
  await createEndpoint(t.api, tenant.id, { url: rcv.url, eventTypes: ['order.paid'] });
  const first = await t.api.post(`/v1/tenants/${tenant.id}/events`, {
    type: 'order.paid',
    data: { first: true },
  });
  assert.equal(first.status, 202, JSON.stringify(first.body));
  await rcv.waitFor(1, 10_000);
  // Its first attempt has timed out (1 s): the endpoint is failing, and its line parked.
  await new Promise((r) => setTimeout(r, 1_500));

  const ids = new Set<string>([first.body.id]);
  for (let sent = 0; sent < EVENTS; sent += 500) {
    const events = Array.from({ length: 500 }, (_, i) => ({
      type: 'order.paid',
      data: { i: sent + i },
    }));
    const r = await t.api.post(`/v1/tenants/${tenant.id}/events/batch`, { events });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    for (const e of r.body.data) ids.add(e.id);
  }
  assert.equal(ids.size, EVENTS + 1);

  const answeredFrom = rcv.requests.length;
  rcv.respond((_req, res) => void res.end('ok'));
  for (const res of hung.splice(0)) res.end('ok');

  const deadline = Date.now() + 30_000;
  const received = () => new Set(rcv.requests.map((q) => q.headers['webhook-id'] as string));
  while (received().size < ids.size && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  const got = received();
  const missing = [...ids].filter((id) => !got.has(id));
  assert.equal(missing.length, 0, `${missing.length} of ${ids.size} events never arrived`);

  // Answered once each: nothing read back from Postgres was sent twice.
  const answered = rcv.requests.slice(answeredFrom).map((q) => q.headers['x-webhook-delivery-id']);
  assert.equal(new Set(answered).size, answered.length, 'a delivery was sent twice once answered');
});
