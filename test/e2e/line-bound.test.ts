// An endpoint's line in the dispatcher takes every offer only once the endpoint has given an HTTP
// answer (DispatcherService, lineBound): before that, LINE_LIMIT at most, the rest left in
// Postgres. An endpoint that never answers is known to fail only once its first attempts stall or
// time out, and meanwhile it would take every offer. The answer is remembered when an idle line is
// let go, so a healthy endpoint's next burst is not bounded again. These tests read the line's
// state itself: in the deliveries sent, a bounded line differs from an open one only by when.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerResponse } from 'node:http';
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
import { DispatcherService, LINE_LIMIT, lineBound } from '../../src/dispatch/dispatcher.service';

let t: RunningTern;
let rcv: Receiver;
const hung: ServerResponse[] = [];
/** The dispatcher's lines, by endpoint id (private state, read for these tests alone). */
let lines: Map<string, any>;

before(async () => {
  t = await startTern({
    DELIVERY_TIMEOUT_MS: '1000',
    SWEEP_INTERVAL_MS: '600000',
    SHUTDOWN_GRACE_MS: '200',
  });
  await createEventType(t.api, 'order.paid');
  await createEventType(t.api, 'order.sent');
  rcv = await startReceiver((req, res) => {
    if (req.url?.startsWith('/hang')) hung.push(res);
    else res.end('ok');
  });
  lines = (t.app.get(DispatcherService) as any).endpoints;
});

after(async () => {
  for (const res of hung) res.destroy();
  await rcv?.close();
  await t?.close();
});

/** Waits (5 s at most) until `ok` holds of the dispatcher's lines. */
const until = (what: string, ok: () => boolean) => eventually(async () => ok(), 5_000, what);
const bound = (endpointId: string) => lineBound(lines.get(endpointId), Date.now(), 1_000);

test('a line is bounded until its endpoint answers, and stays open after its idle line is let go', async () => {
  const tenant = await createTenant(t.api);
  const answers = await createEndpoint(t.api, tenant.id, {
    url: `${rcv.url}/ok`,
    eventTypes: ['order.paid'],
  });
  const trigger = (type: string) =>
    t.api.post(`/v1/tenants/${tenant.id}/events`, { type, data: {} });

  await trigger('order.paid');
  await rcv.waitFor(1);
  // Answered, then idle: its line is let go.
  await until('the idle line is let go', () => !lines.has(answers.id));

  // Its URL now hangs: a new line, which starts answered from memory, so it has no bound.
  const patched = await t.api.patch(`/v1/tenants/${tenant.id}/endpoints/${answers.id}`, {
    url: `${rcv.url}/hang/a`,
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await trigger('order.paid');
  await until('a line for it again', () => lines.has(answers.id));
  assert.equal(lines.get(answers.id).answered, true);
  assert.equal(bound(answers.id), null, 'answered before: no bound of its own');

  // An endpoint that has never answered: bounded from its first offer, before any stall.
  const silent = await createEndpoint(t.api, tenant.id, {
    url: `${rcv.url}/hang/b`,
    eventTypes: ['order.sent'],
  });
  await trigger('order.sent');
  await until('its line', () => lines.has(silent.id));
  assert.equal(lines.get(silent.id).answered, false);
  assert.equal(bound(silent.id), LINE_LIMIT);

  // A timeout is no answer: still bounded once its attempt has timed out (1 s).
  await until('its first attempt timed out', () => lines.get(silent.id)?.failing > 0);
  assert.equal(lines.get(silent.id).answered, false);
});

test('an endpoint that never answered holds LINE_LIMIT offers at most, the rest left in Postgres', async () => {
  const tenant = await createTenant(t.api);
  const silent = await createEndpoint(t.api, tenant.id, {
    url: `${rcv.url}/hang/c`,
    eventTypes: ['order.paid'],
  });
  const ids: string[] = [];
  const batches = [];
  for (let sent = 0; sent < LINE_LIMIT + 500; sent += 500)
    batches.push(
      t.api.post(`/v1/tenants/${tenant.id}/events/batch`, {
        events: Array.from({ length: 500 }, () => ({ type: 'order.paid', data: {} })),
      }),
    );
  for (const r of await Promise.all(batches)) {
    assert.equal(r.status, 202, JSON.stringify(r.body));
    for (const e of r.body.data) ids.push(e.deliveries[0].id);
  }
  const dispatcher = t.app.get(DispatcherService);
  await until('the line is full', () => lines.get(silent.id)?.dropped === true);
  const held = ids.filter((id) => dispatcher.holds(id)).length;
  // A full line, and its sends out (nothing is claimed ahead for an endpoint not known quick).
  assert.ok(held >= LINE_LIMIT, `${held} held`);
  assert.ok(held <= LINE_LIMIT + t.config.endpointConcurrency, `${held} held`);
});
