// /metrics after a known sequence on a real Tern: one event delivered at once, one that fails every
// attempt (and, with ENDPOINT_DISABLE_AFTER=1, disables its endpoint). Counters move by exactly that.
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

const SCHEDULE = ['100ms', '100ms']; // three attempts
const ATTEMPTS = SCHEDULE.length + 1;

let t: RunningTern;
let ok: Receiver;
let failing: Receiver;

before(async () => {
  // LOG_LEVEL fatal: the two alerts this sequence raises are logged at error level by design.
  t = await startTern({
    RETRY_SCHEDULE: SCHEDULE.join(','),
    ENDPOINT_DISABLE_AFTER: '1',
    LOG_LEVEL: 'fatal',
  });
  ok = await startReceiver();
  failing = await startReceiver((_r, res) => {
    res.statusCode = 500;
    res.end('nope');
  });
});

after(async () => {
  await ok?.close();
  await failing?.close();
  await t?.close();
});

const SERIES = [
  'tern_events_accepted_total',
  'tern_deliveries_total{outcome="succeeded"}',
  'tern_deliveries_total{outcome="failed"}',
  'tern_deliveries_total{outcome="retry"}',
  'tern_deliveries_total{outcome="cancelled"}',
  'tern_delivery_attempt_duration_seconds_count{result="success"}',
  'tern_delivery_attempt_duration_seconds_count{result="failure"}',
  'tern_delivery_attempt_duration_seconds_bucket{le="+Inf",result="failure"}',
  'tern_endpoints_disabled_total',
] as const;
type Values = Record<(typeof SERIES)[number], number>;

async function scrape(): Promise<Values> {
  const res = await fetch(`${t.url}/metrics`);
  assert.equal(res.status, 200);
  const lines = (await res.text()).split('\n');
  const out = {} as Values;
  for (const s of SERIES) {
    const line = lines.find((l) => l.startsWith(s + ' '));
    assert.ok(line, `${s} is exposed`);
    out[s] = Number(line.slice(s.length + 1));
  }
  return out;
}

test('counters and the attempt histogram follow one success and one exhausted delivery', async () => {
  await createEventType(t.api, 'order.paid');
  await createEventType(t.api, 'order.lost');
  const tenant = await createTenant(t.api);
  await createEndpoint(t.api, tenant.id, { url: ok.url, eventTypes: ['order.paid'] });
  const bad = await createEndpoint(t.api, tenant.id, {
    url: failing.url,
    eventTypes: ['order.lost'],
  });

  const base = await scrape();
  for (const type of ['order.paid', 'order.lost']) {
    const r = await t.api.post(`/v1/tenants/${tenant.id}/events`, { type, data: { n: 1 } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.deliveries.length, 1);
  }

  const expected: Values = {
    tern_events_accepted_total: 2,
    'tern_deliveries_total{outcome="succeeded"}': 1,
    'tern_deliveries_total{outcome="failed"}': 1,
    'tern_deliveries_total{outcome="retry"}': ATTEMPTS - 1,
    'tern_deliveries_total{outcome="cancelled"}': 0,
    'tern_delivery_attempt_duration_seconds_count{result="success"}': 1,
    'tern_delivery_attempt_duration_seconds_count{result="failure"}': ATTEMPTS,
    'tern_delivery_attempt_duration_seconds_bucket{le="+Inf",result="failure"}': ATTEMPTS,
    tern_endpoints_disabled_total: 1,
  };
  const delta = async () => {
    const now = await scrape();
    return Object.fromEntries(SERIES.map((s) => [s, now[s] - base[s]])) as Values;
  };
  // Wait for the sequence to end: the failing endpoint disabled after its delivery was exhausted.
  let last: Values | undefined;
  await eventually(
    async () => {
      last = await delta();
      return SERIES.every((s) => last![s] === expected[s]);
    },
    20_000,
    'metrics to reach the sequence',
  ).catch((e) => {
    assert.deepEqual(last, expected, (e as Error).message);
  });

  // The log agrees: one attempt for the success, every attempt for the failure.
  const log = await t.api.get(`/v1/tenants/${tenant.id}/deliveries`);
  const byStatus = Object.fromEntries(log.body.data.map((d: any) => [d.status, d]));
  assert.deepEqual(Object.keys(byStatus).sort(), ['failed', 'succeeded']);
  const failed = await t.api.get(`/v1/tenants/${tenant.id}/deliveries/${byStatus.failed.id}`);
  assert.equal(failed.body.attempts.length, ATTEMPTS);
  const succeeded = await t.api.get(`/v1/tenants/${tenant.id}/deliveries/${byStatus.succeeded.id}`);
  assert.equal(succeeded.body.attempts.length, 1);
  assert.equal(ok.requests.length, 1);
  assert.equal(failing.requests.length, ATTEMPTS);
  const endpoint = await t.api.get(`/v1/tenants/${tenant.id}/endpoints/${bad.id}`);
  assert.equal(endpoint.body.enabled, false);

  // Nothing moves afterwards (no stray retry or double count).
  assert.deepEqual(await delta(), expected);
});
