// Disabling, re-enabling and retrying around deliveries in flight, with the sweeper out of the way
// (SWEEP_INTERVAL_MS=60000), so every wake-up seen here is the one the code path itself makes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Api,
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  Receiver,
  RunningTern,
  startReceiver,
  startTern,
} from '../support/harness';

let t: RunningTern;
let rcv: Receiver;

before(async () => {
  t = await startTern({ SWEEP_INTERVAL_MS: '60000', RETRY_SCHEDULE: '300ms,300ms,300ms' });
  rcv = await startReceiver();
  await createEventType(t.api, 'order.paid');
});

after(async () => {
  await rcv.close();
  await t.close();
});

async function tenantApi(): Promise<{ id: string; api: Api }> {
  const tenant = await createTenant(t.api);
  return { id: tenant.id, api: t.api.as(tenant.apiKey) };
}

const statusOf = async (api: Api, tenantId: string, id: string) =>
  (await api.get(`/v1/tenants/${tenantId}/deliveries/${id}`)).body.status as string;

/**
 * An endpoint at `path` and one event's delivery to it, once the delivery waits `paused` (the
 * receiver is to answer its first request 410 Gone).
 */
async function pausedBy410(
  api: Api,
  tenantId: string,
  path: string,
): Promise<{ ep: { id: string }; id: string }> {
  const ep = await createEndpoint(api, tenantId, {
    url: `${rcv.url}${path}`,
    eventTypes: ['order.paid'],
  });
  const ev = await api.post(`/v1/tenants/${tenantId}/events`, { type: 'order.paid', data: {} });
  const id: string = ev.body.deliveries[0].id;
  await eventually(
    async () => (await statusOf(api, tenantId, id)) === 'paused',
    5000,
    'paused by 410',
  );
  return { ep, id };
}

test('disabled while attempts fail in flight: nothing more is sent; re-enabled: sent at once', async () => {
  const { id: tenantId, api } = await tenantApi();
  let fail = true;
  rcv.respond((r, res) => {
    if (!r.url.startsWith('/flaky')) return void res.end('ok');
    setTimeout(() => {
      res.statusCode = fail ? 500 : 200;
      res.end();
    }, 300);
  });
  const ep = await createEndpoint(api, tenantId, {
    url: `${rcv.url}/flaky`,
    eventTypes: ['order.paid'],
  });
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await api.post(`/v1/tenants/${tenantId}/events`, { type: 'order.paid', data: { i } });
    ids.push(r.body.deliveries[0].id);
  }
  await eventually(
    async () => rcv.requests.filter((r) => r.url === '/flaky').length >= 4,
    5000,
    'first attempts',
  );
  // Disable while the first attempts are still waiting for their (failing) answers.
  assert.equal(
    (await api.patch(`/v1/tenants/${tenantId}/endpoints/${ep.id}`, { enabled: false })).status,
    200,
  );
  for (const id of ids)
    await eventually(
      async () => (await statusOf(api, tenantId, id)) === 'paused',
      5000,
      `${id} paused`,
    );
  const sentWhileDisabled = rcv.requests.filter((r) => r.url === '/flaky').length;
  await new Promise((r) => setTimeout(r, 1000)); // three retry steps' worth
  assert.equal(
    rcv.requests.filter((r) => r.url === '/flaky').length,
    sentWhileDisabled,
    'nothing sent while disabled',
  );

  fail = false;
  const t0 = Date.now();
  assert.equal(
    (await api.patch(`/v1/tenants/${tenantId}/endpoints/${ep.id}`, { enabled: true })).status,
    200,
  );
  for (const id of ids)
    await eventually(
      async () => (await statusOf(api, tenantId, id)) === 'succeeded',
      5000,
      `${id} succeeded`,
    );
  assert.ok(Date.now() - t0 < 5000, 'resumed deliveries go at once, not at the next sweep');
});

test('a paused delivery retried by hand that fails again waits paused, its schedule kept', async () => {
  const { id: tenantId, api } = await tenantApi();
  let calls = 0;
  rcv.respond((r, res) => {
    // 410 first (the endpoint is disabled, the delivery paused), then a plain failure.
    res.statusCode = r.url.startsWith('/gone') && ++calls === 1 ? 410 : 500;
    res.end();
  });
  const { ep, id } = await pausedBy410(api, tenantId, '/gone');
  assert.equal((await api.get(`/v1/tenants/${tenantId}/endpoints/${ep.id}`)).body.enabled, false);
  const r = await api.post(`/v1/tenants/${tenantId}/deliveries/${id}/retry`);
  assert.equal(r.status, 202);
  await eventually(
    async () =>
      (await api.get(`/v1/tenants/${tenantId}/deliveries/${id}`)).body.attempts.length === 2,
    5000,
    'the manual attempt',
  );
  const d = await eventually(async () => {
    const x = (await api.get(`/v1/tenants/${tenantId}/deliveries/${id}`)).body;
    return x.status !== 'sending' && x;
  }, 5000);
  assert.equal(
    d.status,
    'paused',
    'not failed: it resumes with its schedule when the endpoint is enabled',
  );
});

test('a manual retry to a disabled endpoint re-enabled during its attempt retries on the schedule, whose end raises the alert', async () => {
  const { id: tenantId, api } = await tenantApi();
  let calls = 0;
  let held: ((code: number) => void) | null = null;
  rcv.respond((r, res) => {
    if (!r.url.startsWith('/reenabled')) return void res.end('ok');
    calls++;
    if (calls === 1) {
      res.statusCode = 410; // disables the endpoint, the delivery waits paused
      return void res.end();
    }
    if (calls === 2) {
      held = (code) => {
        res.statusCode = code;
        res.end();
      };
      return;
    }
    res.statusCode = 500;
    res.end();
  });
  const { ep, id } = await pausedBy410(api, tenantId, '/reenabled');
  await eventually(
    async () =>
      (await api.get(`/v1/tenants/${tenantId}/endpoints/${ep.id}`)).body.enabled === false,
    5000,
    'disabled by 410',
  );
  // Claimed while the endpoint is disabled (a manual retry is sent all the same)...
  assert.equal((await api.post(`/v1/tenants/${tenantId}/deliveries/${id}/retry`)).status, 202);
  await eventually(async () => held !== null, 5000, 'the manual attempt in flight');
  // ...and the endpoint is enabled before its answer, a failure, comes back.
  const patch = await api.patch(`/v1/tenants/${tenantId}/endpoints/${ep.id}`, { enabled: true });
  assert.equal(patch.status, 200);
  held!(500);
  // Retried on the schedule, not left `paused` on an enabled endpoint (the sweeper is out of the
  // way here: only the result write decides), and the schedule's end raises the alert: the manual
  // attempt was the only one exempt.
  const d = await eventually(
    async () => {
      const x = (await api.get(`/v1/tenants/${tenantId}/deliveries/${id}`)).body;
      return x.status === 'failed' && x;
    },
    5000,
    'the schedule run out',
  );
  assert.deepEqual(
    d.attempts.map((a: any) => a.statusCode),
    [410, 500, 500, 500],
  );
  await eventually(
    async () =>
      (await api.get(`/v1/tenants/${tenantId}/alerts`)).body.data.some(
        (a: any) => a.type === 'tern.delivery.failed' && JSON.stringify(a).includes(id),
      ),
    5000,
    'the tern.delivery.failed alert',
  );
});
