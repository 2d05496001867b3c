// Delivery end to end: real Tern, real Postgres and Redis, real receivers on 127.0.0.1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { Client } from 'pg';
import {
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  RunningTern,
  startReceiver,
  startTern,
  Receiver,
  Api,
} from '../support/harness';
import { deliveryId, deliveryIdSql, newId } from '../../src/common/ids';
import { INSERT_EVENTS } from '../../src/events/insert-events.statement';

let t: RunningTern;
let pg: Client;
const receivers: Receiver[] = [];

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

async function tenantApi(): Promise<{ id: string; api: Api }> {
  const tenant = await createTenant(t.api);
  return { id: tenant.id, api: t.api.as(tenant.apiKey) };
}

async function delivery(tenantId: string, id: string) {
  return (await t.api.get(`/v1/tenants/${tenantId}/deliveries/${id}`)).body;
}

async function deliveryRow(id: string) {
  return (await pg.query('SELECT * FROM deliveries WHERE id = $1', [id])).rows[0];
}

before(async () => {
  t = await startTern({
    RETRY_SCHEDULE: '200ms,400ms,400ms,400ms',
    ENDPOINT_DISABLE_AFTER: '2',
    DELIVERY_TIMEOUT_MS: '1000',
  });
  pg = new Client({ connectionString: t.databaseUrl });
  await pg.connect();
  for (const name of [
    'order.paid',
    'order.refunded',
    'order.paid.eu',
    'invoice.sent',
    'user.created',
  ]) {
    await createEventType(t.api, name);
  }
});

after(async () => {
  await pg.end();
  await Promise.all(receivers.map((r) => r.close()));
  await t.close();
});

describe('signed delivery', () => {
  test('a receiver gets the exact body, the contract headers, and a signature standardwebhooks accepts', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    const ep = await createEndpoint(api, tenantId, {
      url: `${rcv.url}/hook`,
      eventTypes: ['order.paid'],
      headers: { 'X-Team': 'billing' },
    });
    const res = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'order.paid',
      data: { amount: 1250, currency: 'EUR', note: 'é✓' },
    });
    assert.equal(res.status, 202);
    assert.match(res.body.id, /^evt_/);
    assert.equal(res.body.type, 'order.paid');
    assert.ok(!Number.isNaN(Date.parse(res.body.timestamp)));
    assert.equal(res.body.deliveries.length, 1);
    const [got] = await rcv.waitFor(1);
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/hook');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.match(String(got.headers['user-agent']), /^Tern-Webhooks\/\S+$/);
    assert.equal(got.headers['webhook-id'], res.body.id);
    assert.equal(got.headers['x-webhook-event'], 'order.paid');
    assert.equal(got.headers['x-webhook-delivery-id'], res.body.deliveries[0].id);
    assert.equal(got.headers['x-webhook-retry'], '0');
    assert.equal(got.headers['x-team'], 'billing');
    assert.ok(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000) < 10);
    const parsed = JSON.parse(got.body);
    assert.deepEqual(parsed, {
      id: res.body.id,
      type: 'order.paid',
      timestamp: res.body.timestamp,
      data: { amount: 1250, currency: 'EUR', note: 'é✓' },
    });
    const verified = new Webhook(ep.secret).verify(got.body, got.headers as Record<string, string>);
    assert.deepEqual(verified, parsed);
    const stored = await pg.query('SELECT body FROM events WHERE id = $1', [res.body.id]);
    assert.equal(stored.rows[0].body, got.body, 'the stored body is the exact bytes sent');
    await eventually(
      async () => (await delivery(tenantId, res.body.deliveries[0].id)).status === 'succeeded',
      5000,
      'succeeded',
    );
  });

  test('retries send byte-identical bodies with the same ids, and rotation signs with both secrets', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    const ep = await createEndpoint(api, tenantId, { url: rcv.url, eventTypes: ['order.paid'] });
    const rotated = await api.post(`/v1/tenants/${tenantId}/endpoints/${ep.id}/rotate-secret`, {});
    assert.equal(rotated.status, 200);
    let calls = 0;
    rcv.respond((_r, res) => {
      res.statusCode = ++calls < 3 ? 500 : 200;
      res.end();
    });
    const res = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'order.paid',
      data: { n: 1 },
    });
    const got = await rcv.waitFor(3, 10_000);
    assert.equal(new Set(got.map((g) => g.body)).size, 1);
    assert.deepEqual(
      got.map((g) => g.headers['x-webhook-retry']),
      ['0', '1', '2'],
    );
    assert.equal(new Set(got.map((g) => g.headers['webhook-id'])).size, 1);
    assert.equal(new Set(got.map((g) => g.headers['x-webhook-delivery-id'])).size, 1);
    for (const g of got) {
      assert.equal(String(g.headers['webhook-signature']).split(' ').length, 2);
      new Webhook(ep.secret).verify(g.body, g.headers as Record<string, string>);
      new Webhook(rotated.body.secret).verify(g.body, g.headers as Record<string, string>);
    }
    const d = await eventually(async () => {
      const x = await delivery(tenantId, res.body.deliveries[0].id);
      return x.status === 'succeeded' && x;
    }, 5000);
    assert.deepEqual(
      d.attempts.map((a: any) => a.statusCode),
      [500, 500, 200],
    );
  });
});

describe('fan-out', () => {
  test('exact names, prefix.* and * each get one delivery; others none; disabled ones are paused', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    const exact = await createEndpoint(api, tenantId, {
      url: `${rcv.url}/exact`,
      eventTypes: ['order.paid.eu'],
    });
    const prefix = await createEndpoint(api, tenantId, {
      url: `${rcv.url}/prefix`,
      eventTypes: ['order.*'],
    });
    const all = await createEndpoint(api, tenantId, { url: `${rcv.url}/all`, eventTypes: ['*'] });
    await createEndpoint(api, tenantId, {
      url: `${rcv.url}/other`,
      eventTypes: ['invoice.sent', 'user.created'],
    });
    const off = await createEndpoint(api, tenantId, {
      url: `${rcv.url}/off`,
      eventTypes: ['*'],
      enabled: false,
    });
    const res = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'order.paid.eu',
      data: {},
    });
    assert.equal(res.status, 202);
    const byEndpoint = Object.fromEntries(
      res.body.deliveries.map((d: any) => [d.endpointId, d.status]),
    );
    assert.deepEqual(byEndpoint, {
      [exact.id]: 'pending',
      [prefix.id]: 'pending',
      [all.id]: 'pending',
      [off.id]: 'paused',
    });
    const got = await rcv.waitFor(3);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(got.map((g) => g.url).sort(), ['/all', '/exact', '/prefix']);
    assert.equal(rcv.requests.length, 3);
    // Another tenant's endpoints never see it.
    const other = await tenantApi();
    const res2 = await other.api.post(`/v1/tenants/${other.id}/events`, {
      type: 'order.paid.eu',
      data: {},
    });
    assert.equal(res2.body.deliveries.length, 0);
  });
  test('one delivery per endpoint however many patterns match, none to deleted ones; a batch fans out each event, ids in endpoint order', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    const twice = await createEndpoint(api, tenantId, {
      url: `${rcv.url}/twice`,
      eventTypes: ['order.paid', 'order.*', '*'],
    });
    const once = await createEndpoint(api, tenantId, {
      url: `${rcv.url}/once`,
      eventTypes: ['order.*'],
    });
    const gone = await createEndpoint(api, tenantId, { url: `${rcv.url}/gone`, eventTypes: ['*'] });
    assert.equal((await api.delete(`/v1/tenants/${tenantId}/endpoints/${gone.id}`)).status, 204);
    const res = await api.post(`/v1/tenants/${tenantId}/events/batch`, {
      events: [
        { type: 'order.paid', data: { i: 0 } },
        { type: 'invoice.sent', data: { i: 1 } },
        { type: 'order.paid', data: { i: 2 } },
      ],
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const [first, invoice, third] = res.body.data;
    const ordered = [twice.id, once.id].sort();
    for (const e of [first, third]) {
      assert.deepEqual(
        e.deliveries.map((d: any) => d.endpointId),
        ordered,
      );
      assert.deepEqual(
        e.deliveries.map((d: any) => d.id),
        ordered.map((_, n) => deliveryId(e.id, n)),
      );
    }
    assert.deepEqual(
      invoice.deliveries.map((d: any) => d.endpointId),
      [twice.id],
    );
    const stored = await pg.query(
      'SELECT id, event_id, endpoint_id FROM deliveries WHERE tenant_id = $1 ORDER BY id',
      [tenantId],
    );
    assert.deepEqual(
      stored.rows.map((r) => r.id),
      [...first.deliveries, ...invoice.deliveries, ...third.deliveries].map((d: any) => d.id),
      'stored once each, and in id order event by event',
    );
    const got = await rcv.waitFor(5);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got.length, 5);
    assert.equal(rcv.requests.filter((r) => r.url === '/gone').length, 0);
  });
});

describe('delivery ids', () => {
  test('the ingest statement makes the ids deliveryId makes, for every digit of n', async () => {
    const event = newId('evt');
    for (const n of [0, 1, 31, 32, 1023, 1024, 32 ** 3, 32 ** 4 - 1]) {
      const { rows } = await pg.query(`SELECT ${deliveryIdSql('$1::text', '$2::bigint')} AS id`, [
        event,
        n,
      ]);
      assert.equal(rows[0].id, deliveryId(event, n), `n = ${n}`);
    }
  });
});

describe('ingest statement plan', () => {
  test('its generic plan reads the fan-out by key: subscriptions by (tenant, pattern), endpoints by id', async () => {
    // The plan Postgres keeps for the prepared statement, made as on a fresh database.
    const c = new Client({ connectionString: t.databaseUrl });
    await c.connect();
    try {
      await c.query('SET plan_cache_mode = force_generic_plan');
      await c.query(
        `PREPARE ins(text[], text[], text[], text[], text[], timestamptz, text[], text[], text[],
                     text, int, boolean) AS ${INSERT_EVENTS.text}`,
      );
      // EXPLAIN without ANALYZE plans the statement and runs nothing.
      const { rows } = await c.query(
        `EXPLAIN (FORMAT JSON) EXECUTE ins(ARRAY['${newId('evt')}'], ARRAY['t_none'], ARRAY['x'], ARRAY['{}'],
           ARRAY[NULL]::text[], now(), ARRAY['t_none', 't_none'], ARRAY['x', 'x'], ARRAY['x', '*'],
           NULL, 5, false)`,
      );
      // Every read of endpoints or endpoint_subscriptions, with the index it uses and its condition
      // (a bitmap scan's are on its Bitmap Index Scan child).
      const scans: { relation: string; type: string; index: string; cond: string }[] = [];
      const walk = (n: any) => {
        if (['endpoints', 'endpoint_subscriptions'].includes(n['Relation Name'])) {
          const via = n['Node Type'] === 'Bitmap Heap Scan' ? n.Plans[0] : n;
          scans.push({
            relation: n['Relation Name'],
            type: n['Node Type'],
            index: via['Index Name'] ?? '',
            cond: via['Index Cond'] ?? '',
          });
        }
        for (const child of n.Plans ?? []) walk(child);
      };
      walk(rows[0]['QUERY PLAN'][0].Plan);
      assert.ok(scans.length >= 3, JSON.stringify(scans));
      for (const s of scans) {
        const why = JSON.stringify(s);
        assert.match(s.type, /Index Scan|Index Only Scan|Bitmap Heap Scan/, why);
        // The key's leading columns: an index read by a later column alone is read whole.
        if (s.index === 'endpoints_pkey') assert.match(s.cond, /\bid = /, why);
        else assert.match(s.cond, /tenant_id = /, why);
        assert.match(s.cond, s.relation === 'endpoints' ? /\bid = / : /pattern = /, why);
      }
    } finally {
      await c.end();
    }
  });
});

describe('ingestion', () => {
  test('one idempotency key under concurrency makes one event and one set of deliveries', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    await createEndpoint(api, tenantId, { url: rcv.url, eventTypes: ['order.paid'] });
    await createEndpoint(api, tenantId, { url: rcv.url, eventTypes: ['order.*'] });
    const calls = Array.from({ length: 20 }, (_, i) =>
      i % 2
        ? api.post(
            `/v1/tenants/${tenantId}/events`,
            { type: 'order.paid', data: { i } },
            { 'Idempotency-Key': 'k-1' },
          )
        : api.post(`/v1/tenants/${tenantId}/events`, {
            type: 'order.paid',
            data: { i },
            idempotencyKey: 'k-1',
          }),
    );
    const results = await Promise.all(calls);
    assert.ok(
      results.every((r) => r.status === 202),
      JSON.stringify(results.map((r) => r.status)),
    );
    assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
    for (const r of results) assert.equal(r.body.deliveries.length, 2);
    assert.equal(new Set(results.flatMap((r) => r.body.deliveries.map((d: any) => d.id))).size, 2);
    const count = await pg.query('SELECT count(*)::int AS n FROM deliveries WHERE event_id = $1', [
      results[0].body.id,
    ]);
    assert.equal(count.rows[0].n, 2);
    await rcv.waitFor(2);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rcv.requests.length, 2);
  });

  test('unknown, archived and reserved types are 422; a payload failing the schema is 422 with errors', async () => {
    const { id: tenantId, api } = await tenantApi();
    await createEventType(t.api, 'payment.captured', {
      type: 'object',
      required: ['amount'],
      properties: { amount: { type: 'integer' } },
    });
    const unknown = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'nope.nothing',
      data: {},
    });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.details[0].field, 'type');
    const reserved = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'tern.delivery.failed',
      data: {},
    });
    assert.equal(reserved.status, 422);
    const bad = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'payment.captured',
      data: { amount: 'x' },
    });
    assert.equal(bad.status, 422);
    assert.ok(bad.body.details.some((d: any) => d.field.startsWith('data')));
    const good = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'payment.captured',
      data: { amount: 3 },
    });
    assert.equal(good.status, 202);
    await createEventType(t.api, 'legacy.thing');
    assert.equal((await t.api.delete('/v1/event-types/legacy.thing')).status, 204);
    const archived = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'legacy.thing',
      data: {},
    });
    assert.equal(archived.status, 422);
  });

  test('bad bodies: missing fields 400, not JSON 415, too large 413', async () => {
    const { id: tenantId, api } = await tenantApi();
    const missing = await api.post(`/v1/tenants/${tenantId}/events`, { data: {} });
    assert.equal(missing.status, 400);
    assert.ok(missing.body.details.some((d: any) => d.field === 'type'));
    const notObject = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'order.paid',
      data: [1],
    });
    assert.equal(notObject.status, 400);
    assert.ok(notObject.body.details.some((d: any) => d.field === 'data'));
    const text = await api.request('POST', `/v1/tenants/${tenantId}/events`, 'type=order.paid', {
      'content-type': 'text/plain',
    });
    assert.equal(text.status, 415);
    const big = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'order.paid',
      data: { blob: 'x'.repeat(300 * 1024) },
    });
    assert.equal(big.status, 413);
    assert.equal(big.body.statusCode, 413);
    const broken = await api.request('POST', `/v1/tenants/${tenantId}/events`, '{"type":', {});
    assert.equal(broken.status, 400);
    // Nested deeper than the validation's recursive walks can go (a 500 before): refused, named.
    const deep = (n: number) =>
      `{"type":"order.paid","data":{"a":${'['.repeat(n)}${']'.repeat(n)}}}`;
    const tooDeep = await api.request('POST', `/v1/tenants/${tenantId}/events`, deep(5_000), {});
    assert.equal(tooDeep.status, 400);
    assert.equal(tooDeep.body.details[0].field, 'body');
    assert.match(tooDeep.body.message, /deeper than 128 levels/);
    const deepEnough = await api.request('POST', `/v1/tenants/${tenantId}/events`, deep(120), {});
    assert.equal(deepEnough.status, 202, JSON.stringify(deepEnough.body));
    // Keys the framework would drop without a word (the payload would change) are refused, named.
    for (const [path, body, field] of [
      [
        'events',
        '{"type":"order.paid","data":{"customer":{"constructor":"x"}}}',
        'data.customer.constructor',
      ],
      [
        'events',
        '{"type":"order.paid","data":{"a":[{"__proto__":{"x":1}}]}}',
        'data.a[0].__proto__',
      ],
      [
        'events/batch',
        '{"events":[{"type":"order.paid","data":{}},{"type":"order.paid","data":{"prototype":1}}]}',
        'events[1].data.prototype',
      ],
    ]) {
      const res = await api.request('POST', `/v1/tenants/${tenantId}/${path}`, body, {});
      assert.equal(res.status, 400, body);
      assert.equal(res.body.details[0].field, field);
      assert.match(res.body.details[0].message, /constructor or prototype are not accepted/);
    }
    const { rows } = await pg.query('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1', [
      tenantId,
    ]);
    assert.equal(rows[0].n, 1); // the 120 levels deep one
  });

  test('a NUL where Postgres cannot store it is a 400 naming the field; in data it is delivered', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    await createEndpoint(api, tenantId, { url: rcv.url, eventTypes: ['order.*'] });
    // Each of these was a 500 (Postgres refuses U+0000 in text and jsonb); a shared write of the
    // group commit failed with it for every request in the group.
    for (const [path, body, field] of [
      ['events', '{"type":"order.paid","data":{},"idempotencyKey":"k\\u0000"}', 'idempotencyKey'],
      [
        'events/batch',
        '{"events":[{"type":"order.paid","data":{}},{"type":"order.paid","data":{},"idempotencyKey":"\\u0000"}]}',
        'events[1].idempotencyKey',
      ],
    ]) {
      const res = await api.request('POST', `/v1/tenants/${tenantId}/${path}`, body, {});
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.deepEqual(res.body.details, [
        { field, message: 'must not contain the NUL character (U+0000)' },
      ]);
    }
    const query = await api.get(`/v1/tenants/${tenantId}/deliveries?eventType=order.paid%00`);
    assert.equal(query.status, 400, JSON.stringify(query.body));
    assert.equal(query.body.details[0].field, 'eventType');
    const param = await api.get(`/v1/tenants/${tenantId}/events/evt_%00`);
    assert.equal(param.status, 400, JSON.stringify(param.body));
    assert.equal(param.body.details[0].field, 'eventId');
    const tenant = await t.api.get(`/v1/tenants/${tenantId}%00/deliveries`);
    assert.equal(tenant.status, 404, JSON.stringify(tenant.body));
    // An event's data is stored and sent as the JSON text it is, where a NUL is an escape.
    const body = '{"type":"order.paid","data":{"note":"a\\u0000b","k\\u0000":1}}';
    const ok = await api.request('POST', `/v1/tenants/${tenantId}/events`, body, {});
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    const [got] = await rcv.waitFor(1);
    assert.deepEqual(JSON.parse(got.body).data, { note: 'a\u0000b', 'k\u0000': 1 });
    assert.ok(got.body.includes('"note":"a\\u0000b"'), got.body);
    const { rows } = await pg.query('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1', [
      tenantId,
    ]);
    assert.equal(rows[0].n, 1);
  });

  test('batch: all accepted in order, or none with the first bad item named', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    await createEndpoint(api, tenantId, { url: rcv.url, eventTypes: ['order.*'] });
    const ok = await api.post(`/v1/tenants/${tenantId}/events/batch`, {
      events: [
        { type: 'order.paid', data: { n: 0 } },
        { type: 'order.refunded', data: { n: 1 }, idempotencyKey: 'b-1' },
        { type: 'order.paid', data: { n: 2 } },
      ],
    });
    assert.equal(ok.status, 202);
    assert.deepEqual(
      ok.body.data.map((e: any) => e.type),
      ['order.paid', 'order.refunded', 'order.paid'],
    );
    await rcv.waitFor(3);
    const before = (
      await pg.query('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1', [tenantId])
    ).rows[0].n;
    const bad = await api.post(`/v1/tenants/${tenantId}/events/batch`, {
      events: [
        { type: 'order.paid', data: {} },
        { type: 'nope.nothing', data: {} },
      ],
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.details[0].field, 'events[1].type');
    const afterCount = (
      await pg.query('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1', [tenantId])
    ).rows[0].n;
    assert.equal(afterCount, before);
    const replay = await api.post(`/v1/tenants/${tenantId}/events/batch`, {
      events: [{ type: 'order.refunded', data: {}, idempotencyKey: 'b-1' }],
    });
    assert.equal(replay.body.data[0].id, ok.body.data[1].id);
    const tooMany = await api.post(`/v1/tenants/${tenantId}/events/batch`, {
      events: Array.from({ length: 501 }, () => ({ type: 'order.paid', data: {} })),
    });
    assert.equal(tooMany.status, 400);
  });
});

describe('failures and the schedule', () => {
  test('every attempt fails: the schedule runs out, the delivery fails, and an alert is stored and delivered', async () => {
    const { id: tenantId, api } = await tenantApi();
    const dead = await receiver();
    dead.respond((_r, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const watcher = await receiver();
    const ep = await createEndpoint(api, tenantId, { url: dead.url, eventTypes: ['order.paid'] });
    const alertsEp = await createEndpoint(api, tenantId, {
      url: watcher.url,
      eventTypes: ['tern.delivery.failed'],
    });
    const res = await api.post(`/v1/tenants/${tenantId}/events`, { type: 'order.paid', data: {} });
    const got = await dead.waitFor(5, 15_000);
    const gaps = got.slice(1).map((g, i) => g.at - got[i].at);
    assert.ok(gaps[0] >= 180, `first retry after ~200ms, was ${gaps[0]}`);
    const d = await eventually(
      async () => {
        const x = await delivery(tenantId, res.body.deliveries[0].id);
        return x.status === 'failed' && x;
      },
      10_000,
      'failed',
    );
    assert.equal(d.attempts.length, 5);
    assert.ok(d.attempts.every((a: any) => a.statusCode === 500 && a.responseBody === 'boom'));
    assert.equal(d.nextAttemptAt, null);
    const alerts = await eventually(
      async () => {
        const a = await api.get(`/v1/tenants/${tenantId}/alerts`);
        return a.body.data.length > 0 && a.body.data;
      },
      5000,
      'alert',
    );
    assert.equal(alerts[0].type, 'tern.delivery.failed');
    assert.equal(alerts[0].deliveryId, res.body.deliveries[0].id);
    const [alertHook] = await watcher.waitFor(1);
    assert.equal(alertHook.headers['x-webhook-event'], 'tern.delivery.failed');
    const alertBody = JSON.parse(alertHook.body);
    assert.equal(alertBody.data.deliveryId, res.body.deliveries[0].id);
    assert.equal(alertBody.data.endpointId, ep.id);
    assert.ok(alertsEp.id);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(dead.requests.length, 5, 'no sixth attempt');
  });

  test('410 Gone disables the endpoint at once; later deliveries wait paused and resume on re-enable', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    rcv.respond((_r, res) => {
      res.statusCode = 410;
      res.end();
    });
    const ep = await createEndpoint(api, tenantId, { url: rcv.url, eventTypes: ['order.paid'] });
    await api.post(`/v1/tenants/${tenantId}/events`, { type: 'order.paid', data: { n: 1 } });
    await rcv.waitFor(1);
    const disabled = await eventually(
      async () => {
        const e = (await api.get(`/v1/tenants/${tenantId}/endpoints/${ep.id}`)).body;
        return e.enabled === false && e;
      },
      5000,
      'disabled',
    );
    assert.match(disabled.disabledReason, /410/);
    const later = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'order.paid',
      data: { n: 2 },
    });
    assert.equal(later.body.deliveries[0].status, 'paused');
    const alerts = await eventually(
      async () => {
        const a = (await api.get(`/v1/tenants/${tenantId}/alerts`)).body.data;
        return a.some((x: any) => x.type === 'tern.endpoint.disabled') && a;
      },
      5000,
      'endpoint.disabled alert',
    );
    assert.ok(alerts.find((x: any) => x.type === 'tern.endpoint.disabled').endpointId === ep.id);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(rcv.requests.length, 1);
    rcv.respond((_r, res) => void res.end('ok'));
    const patched = await api.patch(`/v1/tenants/${tenantId}/endpoints/${ep.id}`, {
      enabled: true,
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.enabled, true);
    assert.equal(patched.body.disabledReason, null);
    await rcv.waitFor(3, 10_000);
    const bodies = rcv.requests
      .slice(1)
      .map((r) => JSON.parse(r.body).data.n)
      .sort();
    assert.deepEqual(bodies, [1, 2]);
  });

  test('ENDPOINT_DISABLE_AFTER exhausted deliveries in a row disable the endpoint', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    rcv.respond((_r, res) => {
      res.statusCode = 502;
      res.end();
    });
    const ep = await createEndpoint(api, tenantId, { url: rcv.url, eventTypes: ['order.paid'] });
    await api.post(`/v1/tenants/${tenantId}/events`, { type: 'order.paid', data: { n: 1 } });
    await api.post(`/v1/tenants/${tenantId}/events`, { type: 'order.paid', data: { n: 2 } });
    const e = await eventually(
      async () => {
        const x = (await api.get(`/v1/tenants/${tenantId}/endpoints/${ep.id}`)).body;
        return x.enabled === false && x;
      },
      15_000,
      'disabled after 2 exhausted',
    );
    assert.match(e.disabledReason, /2 consecutive/);
  });

  test('a success between exhausted deliveries resets the run: the endpoint stays enabled', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    let fail = true;
    rcv.respond((_r, res) => {
      res.statusCode = fail ? 500 : 200;
      res.end();
    });
    const ep = await createEndpoint(api, tenantId, { url: rcv.url, eventTypes: ['order.paid'] });
    const first = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'order.paid',
      data: { n: 1 },
    });
    await eventually(
      async () => (await delivery(tenantId, first.body.deliveries[0].id)).status === 'failed',
      10_000,
      'first failed',
    );
    fail = false;
    const ok = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'order.paid',
      data: { n: 2 },
    });
    await eventually(
      async () => (await delivery(tenantId, ok.body.deliveries[0].id)).status === 'succeeded',
      5000,
      'succeeded',
    );
    fail = true;
    const second = await api.post(`/v1/tenants/${tenantId}/events`, {
      type: 'order.paid',
      data: { n: 3 },
    });
    await eventually(
      async () => (await delivery(tenantId, second.body.deliveries[0].id)).status === 'failed',
      10_000,
      'second failed',
    );
    await new Promise((r) => setTimeout(r, 300));
    const e = (await api.get(`/v1/tenants/${tenantId}/endpoints/${ep.id}`)).body;
    assert.equal(e.enabled, true);
    const row = await pg.query('SELECT consecutive_failures FROM endpoints WHERE id = $1', [ep.id]);
    assert.equal(row.rows[0].consecutive_failures, 1);
  });

  test('redirects are not followed; timeouts and resets are recorded with their reason', async () => {
    const { id: tenantId, api } = await tenantApi();
    const target = await receiver();
    const redirect = await receiver();
    redirect.respond((_r, res) => {
      res.writeHead(302, { location: `${target.url}/landed` });
      res.end();
    });
    const slow = await receiver();
    slow.respond(() => new Promise(() => undefined)); // never answers
    const reset = await receiver();
    reset.respond((_r, res) => void res.socket?.destroy());
    const eps = {
      redirect: await createEndpoint(api, tenantId, {
        url: redirect.url,
        eventTypes: ['order.paid'],
      }),
      slow: await createEndpoint(api, tenantId, { url: slow.url, eventTypes: ['order.paid'] }),
      reset: await createEndpoint(api, tenantId, { url: reset.url, eventTypes: ['order.paid'] }),
    };
    const res = await api.post(`/v1/tenants/${tenantId}/events`, { type: 'order.paid', data: {} });
    const byEp = Object.fromEntries(res.body.deliveries.map((d: any) => [d.endpointId, d.id]));
    const firstAttempt = async (epId: string) =>
      eventually(
        async () => {
          const d = await delivery(tenantId, byEp[epId]);
          return d.attempts?.length > 0 && d.attempts[0];
        },
        8000,
        `attempt of ${epId}`,
      );
    const r = await firstAttempt(eps.redirect.id);
    assert.equal(r.statusCode, 302);
    const s = await firstAttempt(eps.slow.id);
    assert.equal(s.statusCode, null);
    assert.match(s.error, /timeout/);
    assert.ok(
      s.durationMs >= 900 && s.durationMs < 3000,
      `timed out near 1000 ms, took ${s.durationMs}`,
    );
    const x = await firstAttempt(eps.reset.id);
    assert.equal(x.statusCode, null);
    assert.match(x.error, /reset|closed|socket/i);
    assert.equal(target.requests.length, 0, 'the redirect target was never called');
    const row = await deliveryRow(byEp[eps.redirect.id]);
    assert.ok(['pending', 'sending'].includes(row.status));
  });

  test('Retry-After on 429 pushes the next attempt later than the schedule', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    let n = 0;
    rcv.respond((_r, res) => {
      if (++n === 1) {
        res.writeHead(429, { 'retry-after': '1' });
        res.end();
      } else res.end('ok');
    });
    await createEndpoint(api, tenantId, { url: rcv.url, eventTypes: ['order.paid'] });
    await api.post(`/v1/tenants/${tenantId}/events`, { type: 'order.paid', data: {} });
    const got = await rcv.waitFor(2, 10_000);
    const gap = got[1].at - got[0].at;
    // The schedule says ~200 ms; Retry-After says 1 s (the longest step here is 400 ms, so capped to it).
    assert.ok(gap >= 380, `waited ${gap} ms`);
  });
});

describe('SSRF at connect time', () => {
  test('an endpoint saved while its range was allowed is refused at send time once it is not', async () => {
    const { id: tenantId, api } = await tenantApi();
    const rcv = await receiver();
    await createEndpoint(api, tenantId, {
      url: rcv.url.replace('127.0.0.1', 'localhost'),
      eventTypes: ['user.created'],
    });
    // A second Tern on the same database with an empty allow-list takes this event through its own
    // queue; the first one's sweeper would only look after 2 s.
    const strict = await startTern({ ALLOWED_TARGET_CIDRS: '' }, t.databaseUrl);
    try {
      const res = await strict.api.post(`/v1/tenants/${tenantId}/events`, {
        type: 'user.created',
        data: {},
      });
      const id = res.body.deliveries[0].id;
      const d = await eventually(
        async () => {
          const x = await delivery(tenantId, id);
          return x.attempts?.length > 0 && x;
        },
        8000,
        'attempt',
      );
      assert.equal(d.attempts[0].statusCode, null);
      assert.match(d.attempts[0].error, /SSRF guard.*(loopback|not allowed)/i);
      assert.equal(rcv.requests.length, 0);
    } finally {
      await strict.close();
    }
  });
});
