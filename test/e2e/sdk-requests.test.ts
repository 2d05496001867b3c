// The SDK client on the wire: every method against a real HTTP server on 127.0.0.1 that records
// what it receives and answers contract-shaped JSON; errors, timeouts, base URLs and path encoding.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import { ReceivedRequest, Receiver, startReceiver } from '../support/harness';
import { Tern, TernApiError } from '../../src/sdk';

const KEY = 'tern_key_test.secret';
let server: Receiver;
let tern: Tern;

function json(res: ServerResponse, status: number, body?: unknown, headers = {}): void {
  res.writeHead(
    status,
    body === undefined ? headers : { 'content-type': 'application/json', ...headers },
  );
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

/** Answers every request with this status and body. */
function answer(status: number, body?: unknown, headers = {}): void {
  server.respond((_req, res) => json(res, status, body, headers));
}

const only = (): ReceivedRequest => {
  assert.equal(server.requests.length, 1, 'exactly one request');
  return server.requests[0];
};
const sentJson = (r: ReceivedRequest) => (r.body ? JSON.parse(r.body) : undefined);

async function apiError(p: Promise<unknown>): Promise<TernApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TernApiError, `expected TernApiError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to throw');
}

const T = '2026-01-01T00:00:00.000Z';
const tenant = { id: 'acme', name: 'Acme', metadata: {}, createdAt: T, updatedAt: T };
const endpoint = {
  id: 'ep_1',
  tenantId: 'acme',
  url: 'https://acme.example/hooks',
  description: null,
  eventTypes: ['order.*'],
  headers: {},
  enabled: true,
  disabledReason: null,
  rateLimitPerSecond: null,
  createdAt: T,
  updatedAt: T,
};
const eventType = {
  name: 'order.completed',
  category: 'order',
  description: null,
  schema: null,
  reserved: false,
  archivedAt: null,
  createdAt: T,
  updatedAt: T,
};
const delivery = {
  id: 'dlv_1',
  tenantId: 'acme',
  eventId: 'evt_1',
  endpointId: 'ep_1',
  eventType: 'order.completed',
  status: 'succeeded',
  attemptCount: 1,
  nextAttemptAt: null,
  lastStatusCode: 200,
  lastError: null,
  createdAt: T,
  updatedAt: T,
};
const accepted = {
  id: 'evt_1',
  type: 'order.completed',
  timestamp: T,
  deliveries: [
    { id: 'dlv_1', endpointId: 'ep_1', status: 'pending' as const },
    { id: 'dlv_2', endpointId: 'ep_2', status: 'pending' as const },
  ],
};
const page = <X>(data: X[], nextCursor: string | null = null) => ({ data, nextCursor });

before(async () => {
  server = await startReceiver();
  tern = new Tern({ baseUrl: server.url, apiKey: KEY });
});
after(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  answer(200, {});
});

test('triggerWebhook posts {type, data, idempotencyKey} with the key and JSON headers', async () => {
  answer(202, accepted);
  const res = await tern.triggerWebhook(
    'acme',
    'order.completed',
    { total: 5 },
    { idempotencyKey: 'k1' },
  );
  assert.deepEqual(res, accepted);
  const r = only();
  assert.equal(r.method, 'POST');
  assert.equal(r.url, '/v1/tenants/acme/events');
  assert.equal(r.headers.authorization, `Bearer ${KEY}`);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers.accept, 'application/json');
  assert.deepEqual(sentJson(r), {
    type: 'order.completed',
    data: { total: 5 },
    idempotencyKey: 'k1',
  });

  server.requests.length = 0;
  await tern.triggerWebhook('acme', 'order.completed', null);
  assert.deepEqual(sentJson(only()), { type: 'order.completed', data: null });
});

test('every route of the contract: method, path, body and answer', async () => {
  const since = new Date('2026-02-01T00:00:00Z');
  const cases: {
    call: () => Promise<unknown>;
    method: string;
    url: string;
    body?: unknown;
    status?: number;
    answer?: unknown;
  }[] = [
    {
      call: () => tern.tenants.create({ id: 'acme', name: 'Acme', metadata: { plan: 'pro' } }),
      method: 'POST',
      url: '/v1/tenants',
      body: { id: 'acme', name: 'Acme', metadata: { plan: 'pro' } },
      status: 201,
      answer: { ...tenant, apiKey: 'tern_key_x.y' },
    },
    {
      call: () => tern.tenants.list({ limit: 10 }),
      method: 'GET',
      url: '/v1/tenants?limit=10',
      answer: page([tenant], 'c1'),
    },
    {
      call: () => tern.tenants.get('acme'),
      method: 'GET',
      url: '/v1/tenants/acme',
      answer: tenant,
    },
    {
      call: () => tern.tenants.update('acme', { name: 'Acme 2' }),
      method: 'PATCH',
      url: '/v1/tenants/acme',
      body: { name: 'Acme 2' },
      answer: { ...tenant, name: 'Acme 2' },
    },
    {
      call: () => tern.tenants.delete('acme'),
      method: 'DELETE',
      url: '/v1/tenants/acme',
      status: 204,
    },
    {
      call: () => tern.tenants.createApiKey('acme'),
      method: 'POST',
      url: '/v1/tenants/acme/api-keys',
      body: {},
      status: 201,
      answer: { id: 'key_1', apiKey: 'tern_key_1.s', createdAt: T },
    },
    {
      call: () => tern.tenants.revokeApiKey('acme', 'key_1'),
      method: 'DELETE',
      url: '/v1/tenants/acme/api-keys/key_1',
      status: 204,
    },
    {
      call: () => tern.eventTypes.create({ name: 'order.completed', category: 'order' }),
      method: 'POST',
      url: '/v1/event-types',
      body: { name: 'order.completed', category: 'order' },
      status: 201,
      answer: eventType,
    },
    {
      call: () => tern.eventTypes.list({ category: 'order', limit: 5, cursor: 'c0' }),
      method: 'GET',
      url: '/v1/event-types?category=order&limit=5&cursor=c0',
      answer: page([eventType]),
    },
    {
      call: () => tern.eventTypes.get('order.completed'),
      method: 'GET',
      url: '/v1/event-types/order.completed',
      answer: eventType,
    },
    {
      call: () => tern.eventTypes.update('order.completed', { description: 'd' }),
      method: 'PATCH',
      url: '/v1/event-types/order.completed',
      body: { description: 'd' },
      answer: { ...eventType, description: 'd' },
    },
    {
      call: () => tern.eventTypes.delete('order.completed'),
      method: 'DELETE',
      url: '/v1/event-types/order.completed',
      status: 204,
    },
    {
      call: () => tern.events.trigger('acme', { type: 'order.completed', data: { a: 1 } }),
      method: 'POST',
      url: '/v1/tenants/acme/events',
      body: { type: 'order.completed', data: { a: 1 } },
      status: 202,
      answer: accepted,
    },
    {
      call: () =>
        tern.events.triggerBatch('acme', [
          { type: 'order.completed', data: { a: 1 }, idempotencyKey: 'i1' },
          { type: 'order.completed', data: { a: 2 } },
        ]),
      method: 'POST',
      url: '/v1/tenants/acme/events/batch',
      body: {
        events: [
          { type: 'order.completed', data: { a: 1 }, idempotencyKey: 'i1' },
          { type: 'order.completed', data: { a: 2 } },
        ],
      },
      status: 202,
      answer: { data: [accepted, { ...accepted, id: 'evt_2' }] },
    },
    {
      call: () => tern.events.get('acme', 'evt_1'),
      method: 'GET',
      url: '/v1/tenants/acme/events/evt_1',
      answer: {
        id: 'evt_1',
        type: 'order.completed',
        timestamp: T,
        data: {},
        deliveries: [delivery],
      },
    },
    {
      call: () =>
        tern.endpoints.create('acme', {
          url: 'https://acme.example/hooks',
          eventTypes: ['order.*'],
          headers: { 'x-team': 'a' },
          rateLimitPerSecond: 5,
        }),
      method: 'POST',
      url: '/v1/tenants/acme/endpoints',
      body: {
        url: 'https://acme.example/hooks',
        eventTypes: ['order.*'],
        headers: { 'x-team': 'a' },
        rateLimitPerSecond: 5,
      },
      status: 201,
      answer: { ...endpoint, secret: 'whsec_abc' },
    },
    {
      call: () => tern.endpoints.list('acme'),
      method: 'GET',
      url: '/v1/tenants/acme/endpoints',
      answer: page([endpoint]),
    },
    {
      call: () => tern.endpoints.get('acme', 'ep_1'),
      method: 'GET',
      url: '/v1/tenants/acme/endpoints/ep_1',
      answer: endpoint,
    },
    {
      call: () => tern.endpoints.update('acme', 'ep_1', { enabled: true }),
      method: 'PATCH',
      url: '/v1/tenants/acme/endpoints/ep_1',
      body: { enabled: true },
      answer: endpoint,
    },
    {
      call: () => tern.endpoints.delete('acme', 'ep_1'),
      method: 'DELETE',
      url: '/v1/tenants/acme/endpoints/ep_1',
      status: 204,
    },
    {
      call: () => tern.endpoints.rotateSecret('acme', 'ep_1'),
      method: 'POST',
      url: '/v1/tenants/acme/endpoints/ep_1/rotate-secret',
      body: {},
      answer: { secret: 'whsec_new' },
    },
    {
      call: () => tern.endpoints.sendTest('acme', 'ep_1'),
      method: 'POST',
      url: '/v1/tenants/acme/endpoints/ep_1/test',
      body: {},
      status: 202,
      answer: {
        ...accepted,
        type: 'webhook.test',
        deliveries: [{ id: 'dlv_3', endpointId: 'ep_1', status: 'pending' as const }],
      },
    },
    {
      call: () => tern.endpoints.recover('acme', 'ep_1', { since }),
      method: 'POST',
      url: '/v1/tenants/acme/endpoints/ep_1/recover',
      body: { since: since.toISOString() },
      status: 202,
      answer: { requeued: 3 },
    },
    {
      call: () =>
        tern.deliveries.list('acme', {
          status: 'failed',
          eventType: 'order.completed',
          endpointId: 'ep_1',
          eventId: 'evt_1',
          since,
          until: '2026-03-01T00:00:00Z',
          limit: 2,
        }),
      method: 'GET',
      url:
        '/v1/tenants/acme/deliveries?status=failed&eventType=order.completed&endpointId=ep_1' +
        '&eventId=evt_1&since=2026-02-01T00%3A00%3A00.000Z&until=2026-03-01T00%3A00%3A00Z&limit=2',
      answer: page([delivery]),
    },
    {
      call: () => tern.deliveries.get('acme', 'dlv_1'),
      method: 'GET',
      url: '/v1/tenants/acme/deliveries/dlv_1',
      answer: {
        ...delivery,
        attempts: [
          {
            attempt: 1,
            startedAt: T,
            durationMs: 12,
            statusCode: 200,
            responseBody: 'ok',
            error: null,
          },
        ],
      },
    },
    {
      call: () => tern.deliveries.retry('acme', 'dlv_1'),
      method: 'POST',
      url: '/v1/tenants/acme/deliveries/dlv_1/retry',
      body: {},
      status: 202,
      answer: { id: 'dlv_1', status: 'pending', nextAttemptAt: T },
    },
    {
      call: () => tern.alerts.list('acme', { limit: 1 }),
      method: 'GET',
      url: '/v1/tenants/acme/alerts?limit=1',
      answer: page([
        {
          id: 'alr_1',
          tenantId: 'acme',
          type: 'tern.delivery.failed',
          message: 'm',
          endpointId: 'ep_1',
          deliveryId: 'dlv_1',
          eventId: 'evt_1',
          data: {},
          createdAt: T,
        },
      ]),
    },
    {
      call: () => tern.admin.deliveries({ tenantId: 'acme', status: 'pending' }),
      method: 'GET',
      url: '/v1/deliveries?tenantId=acme&status=pending',
      answer: page([delivery]),
    },
    { call: () => tern.health(), method: 'GET', url: '/health', answer: { status: 'ok' } },
    { call: () => tern.ready(), method: 'GET', url: '/health/ready', answer: { status: 'ok' } },
  ];

  for (const c of cases) {
    server.requests.length = 0;
    answer(c.status ?? 200, c.answer);
    const got = await c.call();
    const r = only();
    const label = `${c.method} ${c.url}`;
    assert.equal(r.method, c.method, label);
    assert.equal(r.url, c.url, label);
    assert.equal(r.headers.authorization, `Bearer ${KEY}`, label);
    assert.deepEqual(sentJson(r), c.body, label);
    if (c.body !== undefined) assert.equal(r.headers['content-type'], 'application/json', label);
    assert.deepEqual(got, c.answer, label);
  }
});

test('bulk PUT of the catalog sends the array and returns the stored types', async () => {
  const types = [{ name: 'order.completed', category: 'order' }, { name: 'order.refunded' }];
  answer(200, [eventType]);
  assert.deepEqual(await tern.eventTypes.upsertMany(types), [eventType]);
  const r = only();
  assert.equal(r.method, 'PUT');
  assert.equal(r.url, '/v1/event-types');
  assert.deepEqual(sentJson(r), types);
  // Also when the answer is wrapped as a list.
  answer(200, page([eventType]));
  assert.deepEqual(await tern.eventTypes.upsertMany(types), [eventType]);
});

test('path segments are encoded; empty, "." and ".." ids are refused before sending', async () => {
  answer(200, tenant);
  await tern.tenants.get('org:1/2 ä?#%');
  assert.equal(only().url, '/v1/tenants/org%3A1%2F2%20%C3%A4%3F%23%25');
  server.requests.length = 0;
  await tern.endpoints.get('a.b-c_d', 'ep/../x');
  assert.equal(only().url, '/v1/tenants/a.b-c_d/endpoints/ep%2F..%2Fx');
  server.requests.length = 0;
  for (const bad of ['', '.', '..'])
    await assert.rejects(() => tern.tenants.get(bad), TypeError, JSON.stringify(bad));
  await assert.rejects(
    () => tern.deliveries.get('acme', undefined as unknown as string),
    TypeError,
  );
  assert.equal(server.requests.length, 0);
});

test('listAll follows nextCursor through every page', async () => {
  server.respond((req, res) => {
    const cursor = new URL(req.url, 'http://x').searchParams.get('cursor');
    if (!cursor)
      return json(
        res,
        200,
        page(
          [
            { ...delivery, id: 'dlv_3' },
            { ...delivery, id: 'dlv_2' },
          ],
          'c2',
        ),
      );
    if (cursor === 'c2') return json(res, 200, page([{ ...delivery, id: 'dlv_1' }], 'c1'));
    return json(res, 200, page([], null));
  });
  const ids: string[] = [];
  for await (const d of tern.deliveries.listAll('acme', { status: 'failed', limit: 2 }))
    ids.push(d.id);
  assert.deepEqual(ids, ['dlv_3', 'dlv_2', 'dlv_1']);
  assert.deepEqual(
    server.requests.map((r) => r.url),
    [
      '/v1/tenants/acme/deliveries?status=failed&limit=2',
      '/v1/tenants/acme/deliveries?status=failed&limit=2&cursor=c2',
      '/v1/tenants/acme/deliveries?status=failed&limit=2&cursor=c1',
    ],
  );

  server.requests.length = 0;
  server.respond((_req, res) => json(res, 200, page([tenant], null)));
  const all = [];
  for await (const t of tern.tenants.listAll()) all.push(t);
  assert.deepEqual(all, [tenant]);
  assert.equal(server.requests.length, 1);

  server.requests.length = 0;
  const seen = [];
  for await (const d of tern.admin.allDeliveries({ tenantId: 'acme' })) seen.push(d);
  assert.equal(server.requests[0].url, '/v1/deliveries?tenantId=acme');
});

test('a non-2xx answer becomes TernApiError with the contract error body', async () => {
  const details = [{ field: 'url', message: 'must be an http(s) URL' }];
  answer(400, {
    statusCode: 400,
    error: 'Bad Request',
    message: 'url: must be an http(s) URL',
    details,
  });
  let e = await apiError(tern.endpoints.create('acme', { url: 'ftp://x', eventTypes: ['*'] }));
  assert.equal(e.status, 400);
  assert.equal(e.error, 'Bad Request');
  assert.equal(e.message, 'url: must be an http(s) URL');
  assert.deepEqual(e.details, details);
  assert.equal(e.request, 'POST /v1/tenants/acme/endpoints');
  assert.equal(e.name, 'TernApiError');
  assert.ok(e instanceof Error);
  assert.deepEqual(e.toJSON(), {
    statusCode: 400,
    error: 'Bad Request',
    message: 'url: must be an http(s) URL',
    details,
  });

  answer(401, { statusCode: 401, error: 'Unauthorized', message: 'Missing or invalid API key' });
  e = await apiError(tern.tenants.list());
  assert.equal(e.status, 401);
  assert.equal(e.message, 'Missing or invalid API key');
  assert.equal(e.details, undefined);

  answer(422, {
    statusCode: 422,
    error: 'Unprocessable Entity',
    message: 'Unknown event type nope',
  });
  e = await apiError(tern.triggerWebhook('acme', 'nope', {}));
  assert.equal(e.status, 422);

  answer(
    429,
    { statusCode: 429, error: 'Too Many Requests', message: 'slow down' },
    { 'retry-after': '3' },
  );
  e = await apiError(tern.triggerWebhook('acme', 'x', {}));
  assert.equal(e.status, 429);
  assert.equal(e.retryAfterSeconds, 3);
});

test('a non-JSON error, a redirect and a 2xx that is not JSON are still TernApiErrors', async () => {
  server.respond((_req, res) => {
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html>Bad gateway</html>');
  });
  let e = await apiError(tern.tenants.get('acme'));
  assert.equal(e.status, 502);
  assert.equal(e.error, 'Bad Gateway');
  assert.match(e.message, /GET \/v1\/tenants\/acme answered 502: <html>Bad gateway/);

  server.requests.length = 0;
  server.respond((_req, res) => {
    res.writeHead(308, { location: 'https://elsewhere.example/v1/tenants' });
    res.end();
  });
  e = await apiError(tern.tenants.list());
  assert.equal(e.status, 308);
  assert.match(e.message, /redirected to https:\/\/elsewhere\.example/);
  assert.equal(server.requests.length, 1, 'the redirect is not followed');

  server.respond((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello');
  });
  e = await apiError(tern.tenants.list());
  assert.equal(e.status, 200);
  assert.equal(e.error, 'Invalid Response');
});

test('no answer: status 0 with the cause, for a refused connection and for a timeout', async () => {
  // A port that was just free: nothing listens there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  let e = await apiError(
    new Tern({ baseUrl: `http://127.0.0.1:${port}`, apiKey: KEY }).tenants.list(),
  );
  assert.equal(e.status, 0);
  assert.equal(e.error, 'NetworkError');
  assert.match(e.message, /could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  assert.ok(e.cause instanceof Error);

  server.respond(() => {
    // never answers
  });
  const started = Date.now();
  e = await apiError(new Tern({ baseUrl: server.url, apiKey: KEY, timeoutMs: 200 }).tenants.list());
  assert.equal(e.status, 0);
  assert.equal(e.error, 'Timeout');
  assert.match(e.message, /within 200 ms/);
  assert.ok(Date.now() - started < 5000);
});

test('baseUrl: a trailing slash and a path prefix are handled; bad ones refused', async () => {
  answer(200, page([]));
  await new Tern({ baseUrl: `${server.url}/`, apiKey: KEY }).tenants.list();
  assert.equal(only().url, '/v1/tenants');
  server.requests.length = 0;
  await new Tern({ baseUrl: `${server.url}/tern//`, apiKey: KEY }).endpoints.list('acme');
  assert.equal(only().url, '/tern/v1/tenants/acme/endpoints');

  for (const baseUrl of ['127.0.0.1:3000', 'ftp://x.example', 'http://x.example/?a=1', ''])
    assert.throws(() => new Tern({ baseUrl, apiKey: KEY }), TypeError, baseUrl);
  assert.throws(() => new Tern({ baseUrl: server.url, apiKey: '' }), TypeError);
  assert.throws(() => new Tern({ baseUrl: server.url, apiKey: KEY, timeoutMs: 0 }), TypeError);
});
