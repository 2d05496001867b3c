// Replays: retry one delivery, recover an endpoint's failed deliveries, send a test event.
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
let tenantId: string;
let api: Api;

const get = async (id: string) => (await api.get(`/v1/tenants/${tenantId}/deliveries/${id}`)).body;
const statusIs = (id: string, status: string) =>
  eventually(
    async () => {
      const d = await get(id);
      return d.status === status && d;
    },
    10_000,
    `${id} ${status}`,
  );

before(async () => {
  t = await startTern({ RETRY_SCHEDULE: '100ms,100ms' });
  rcv = await startReceiver();
  await createEventType(t.api, 'order.paid');
  await createEventType(t.api, 'user.created');
  const tenant = await createTenant(t.api);
  tenantId = tenant.id;
  api = t.api.as(tenant.apiKey);
});

after(async () => {
  await rcv.close();
  await t.close();
});

test('retry: a failed delivery gets exactly one more attempt with the same id and body, and no new alert', async () => {
  rcv.respond((_r, res) => {
    res.statusCode = 500;
    res.end();
  });
  const ep = await createEndpoint(api, tenantId, {
    url: `${rcv.url}/retry`,
    eventTypes: ['order.paid'],
  });
  const ev = await api.post(`/v1/tenants/${tenantId}/events`, {
    type: 'order.paid',
    data: { n: 1 },
  });
  const id = ev.body.deliveries[0].id;
  await statusIs(id, 'failed');
  // The failure's own alert is written just after the delivery's status: wait for it, so that only
  // an alert from the retry would change the count.
  const alertsBefore = await eventually(
    async () => {
      const alerts = (await api.get(`/v1/tenants/${tenantId}/alerts`)).body.data;
      return (
        alerts.some((a: any) => a.deliveryId === id || a.data?.deliveryId === id) && alerts.length
      );
    },
    10_000,
    'the failed delivery alert',
  );
  const sent = rcv.requests.filter((r) => r.url === '/retry');
  assert.equal(sent.length, 3);
  rcv.respond((_r, res) => void res.end('ok'));
  const r = await api.post(`/v1/tenants/${tenantId}/deliveries/${id}/retry`);
  assert.equal(r.status, 202);
  assert.equal(r.body.status, 'pending');
  const d = await statusIs(id, 'succeeded');
  assert.equal(d.attempts.length, 4);
  const all = rcv.requests.filter((x) => x.url === '/retry');
  assert.equal(all.length, 4);
  assert.equal(all[3].body, all[0].body);
  assert.equal(all[3].headers['webhook-id'], ev.body.id);
  assert.equal(all[3].headers['x-webhook-retry'], '3');
  // A succeeded delivery can be sent once more too.
  assert.equal((await api.post(`/v1/tenants/${tenantId}/deliveries/${id}/retry`)).status, 202);
  await eventually(
    async () => rcv.requests.filter((x) => x.url === '/retry').length === 5,
    5000,
    'fifth send',
  );
  await statusIs(id, 'succeeded');
  assert.equal((await api.get(`/v1/tenants/${tenantId}/alerts`)).body.data.length, alertsBefore);
  assert.ok(ep.id);
});

test('retry: unknown or another tenant’s delivery is 404', async () => {
  assert.equal((await api.post(`/v1/tenants/${tenantId}/deliveries/dlv_nope/retry`)).status, 404);
  const other = await createTenant(t.api);
  const otherApi = t.api.as(other.apiKey);
  const ep = await createEndpoint(otherApi, other.id, {
    url: rcv.url,
    eventTypes: ['user.created'],
  });
  const ev = await otherApi.post(`/v1/tenants/${other.id}/events`, {
    type: 'user.created',
    data: {},
  });
  assert.ok(ep.id);
  assert.equal(
    (await api.post(`/v1/tenants/${other.id}/deliveries/${ev.body.deliveries[0].id}/retry`)).status,
    404,
  );
  assert.equal(
    (await api.post(`/v1/tenants/${tenantId}/deliveries/${ev.body.deliveries[0].id}/retry`)).status,
    404,
  );
});

test('recover: re-queues the failed deliveries of the window only', async () => {
  rcv.respond((r, res) => {
    res.statusCode = r.url === '/recover' ? 503 : 200;
    res.end();
  });
  const ep = await createEndpoint(api, tenantId, {
    url: `${rcv.url}/recover`,
    eventTypes: ['user.created'],
  });
  const early = await api.post(`/v1/tenants/${tenantId}/events`, {
    type: 'user.created',
    data: { n: 0 },
  });
  await statusIs(early.body.deliveries[0].id, 'failed');
  await new Promise((r) => setTimeout(r, 50));
  const since = new Date().toISOString();
  const ids: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const ev = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'user.created',
      data: { n: i },
    });
    ids.push(ev.body.deliveries[0].id);
  }
  for (const id of ids) await statusIs(id, 'failed');
  rcv.respond((_r, res) => void res.end('ok'));
  const bad = await api.post(`/v1/tenants/${tenantId}/endpoints/${ep.id}/recover`, {});
  assert.equal(bad.status, 400);
  assert.equal(bad.body.details[0].field, 'since');
  const r = await api.post(`/v1/tenants/${tenantId}/endpoints/${ep.id}/recover`, { since });
  assert.equal(r.status, 202);
  assert.equal(r.body.requeued, 3);
  for (const id of ids) await statusIs(id, 'succeeded');
  assert.equal((await get(early.body.deliveries[0].id)).status, 'failed');
});

test('test: a webhook.test event goes to that endpoint alone, subscribed or not', async () => {
  rcv.respond((_r, res) => void res.end('ok'));
  const ep = await createEndpoint(api, tenantId, {
    url: `${rcv.url}/tested`,
    eventTypes: ['order.paid'],
  });
  const other = await createEndpoint(api, tenantId, {
    url: `${rcv.url}/untouched`,
    eventTypes: ['*', 'webhook.test'],
  });
  const r = await api.post(`/v1/tenants/${tenantId}/endpoints/${ep.id}/test`);
  assert.equal(r.status, 202);
  assert.equal(r.body.type, 'webhook.test');
  assert.equal(r.body.deliveries.length, 1);
  assert.equal(r.body.deliveries[0].endpointId, ep.id);
  const got = await eventually(
    async () => rcv.requests.find((x) => x.url === '/tested'),
    5000,
    'test event',
  );
  assert.equal(got.headers['x-webhook-event'], 'webhook.test');
  assert.equal(JSON.parse(got.body).type, 'webhook.test');
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(rcv.requests.filter((x) => x.url === '/untouched').length, 0);
  assert.ok(other.id);
  assert.equal((await api.post(`/v1/tenants/${tenantId}/endpoints/ep_missing/test`)).status, 404);
});

test('test: a disabled endpoint still gets its webhook.test event (pending, then sent)', async () => {
  rcv.respond((_r, res) => void res.end('ok'));
  const ep = await createEndpoint(api, tenantId, {
    url: `${rcv.url}/tested-while-disabled`,
    eventTypes: ['order.paid'],
    enabled: false,
  });
  const r = await api.post(`/v1/tenants/${tenantId}/endpoints/${ep.id}/test`);
  assert.equal(r.status, 202);
  assert.deepEqual(
    r.body.deliveries.map((d: any) => [d.endpointId, d.status]),
    [[ep.id, 'pending']],
  );
  await statusIs(r.body.deliveries[0].id, 'succeeded');
  assert.equal(rcv.requests.filter((x) => x.url === '/tested-while-disabled').length, 1);
});

test('an attempt in flight shows as sending, is found by status=sending, and refuses a retry (409)', async () => {
  await createEventType(t.api, 'order.shipped');
  let answer: (() => void) | undefined;
  rcv.respond((r, res) =>
    r.url !== '/in-flight'
      ? void res.end('ok')
      : new Promise<void>((resolve) => {
          answer = () => {
            res.end('ok');
            resolve();
          };
        }),
  );
  const ep = await createEndpoint(api, tenantId, {
    url: `${rcv.url}/in-flight`,
    eventTypes: ['order.shipped'],
  });
  const ev = await api.post(`/v1/tenants/${tenantId}/events`, {
    type: 'order.shipped',
    data: { n: 3 },
  });
  const id = ev.body.deliveries.find((d: { endpointId: string }) => d.endpointId === ep.id).id;
  await eventually(async () => answer !== undefined, 10_000, 'the attempt reached the receiver');
  assert.equal((await get(id)).status, 'sending');
  const list = async (status: string) =>
    (
      await api.get(`/v1/tenants/${tenantId}/deliveries?endpointId=${ep.id}&status=${status}`)
    ).body.data.map((d: { id: string }) => d.id);
  assert.deepEqual(await list('sending'), [id]);
  assert.deepEqual(await list('pending'), []);
  const event = await api.get(`/v1/tenants/${tenantId}/events/${ev.body.id}`);
  assert.equal(event.body.deliveries.find((d: { id: string }) => d.id === id).status, 'sending');
  const retry = await api.post(`/v1/tenants/${tenantId}/deliveries/${id}/retry`);
  assert.equal(retry.status, 409);
  assert.match(retry.body.message, /in flight/);
  answer!();
  await statusIs(id, 'succeeded');
  assert.deepEqual(await list('sending'), []);
  rcv.respond((_r, res) => void res.end('ok'));
});
