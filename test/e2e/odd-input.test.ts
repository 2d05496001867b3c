// Inputs that made the API answer 500 (found by fuzzing every route): each is now a 4xx that names
// what is wrong, or works.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { Client } from 'pg';
import {
  Api,
  createEventType,
  createTenant,
  RunningTern,
  startTern,
  uniq,
  fieldsOf,
} from '../support/harness';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('odd input', () => {
  let t: RunningTern;
  let admin: Api;
  let pg: Client;

  before(async () => {
    t = await startTern();
    admin = t.api;
    pg = new Client({ connectionString: t.databaseUrl });
    await pg.connect();
    await createEventType(admin, 'odd.plain');
  });
  after(async () => {
    await pg.end();
    await t?.close();
  });

  test('a lone surrogate is refused where Postgres would refuse or replace it; in data it goes', async () => {
    // jsonb refused its escape (a 500); text stored U+FFFD instead, so two keys became one.
    for (const [body, field] of [
      [{ name: 'x', metadata: { k: 'a\ud800' } }, 'metadata.k'],
      [{ name: 'x', metadata: { ['k\udc00']: 1 } }, 'metadata.k\udc00'],
      [{ name: 'a\ud800' }, 'name'],
    ] as const) {
      const res = await admin.post('/v1/tenants', body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.deepEqual(fieldsOf(res.body), [field]);
      assert.match(res.body.message, /lone surrogate/);
    }
    const tenant = await createTenant(admin);
    const key = await admin.post(`/v1/tenants/${tenant.id}/events`, {
      type: 'odd.plain',
      data: {},
      idempotencyKey: 'k\ud801',
    });
    assert.equal(key.status, 400, JSON.stringify(key.body));
    assert.deepEqual(fieldsOf(key.body), ['idempotencyKey']);
    const data = await admin.post(`/v1/tenants/${tenant.id}/events`, {
      type: 'odd.plain',
      data: { s: 'a\ud800' },
    });
    assert.equal(data.status, 202, JSON.stringify(data.body));
    const stored = await admin.get(`/v1/tenants/${tenant.id}/events/${data.body.id}`);
    assert.equal(stored.body.data.s, 'a\ud800', 'stored as its JSON escape and read back');
  });

  test('a number too large for JSON is refused, not stored as null', async () => {
    const tenant = await createTenant(admin);
    for (const [method, path, body, field] of [
      [
        'POST',
        '/v1/event-types',
        '{"name":"odd.inf","schema":{"maximum":1e309}}',
        'schema.maximum',
      ],
      [
        'PUT',
        '/v1/event-types',
        '[{"name":"odd.inf2","schema":{"minLength":-1e400}}]',
        '[0].schema.minLength',
      ],
      [
        'POST',
        `/v1/tenants/${tenant.id}/events`,
        '{"type":"odd.plain","data":{"a":[1,1e309]}}',
        'data.a[1]',
      ],
      [
        'POST',
        `/v1/tenants/${tenant.id}/events/batch`,
        '{"events":[{"type":"odd.plain","data":{}},{"type":"odd.plain","data":{"n":1e999}}]}',
        'events[1].data.n',
      ],
    ]) {
      const res = await admin.request(method, path, body, {});
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(fieldsOf(res.body), [field]);
      assert.match(res.body.message, /too large for JSON/);
    }
    assert.equal((await admin.get('/v1/event-types/odd.inf')).status, 404);
    const { rows } = await pg.query('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1', [
      tenant.id,
    ]);
    assert.equal(rows[0].n, 0);
  });

  test('a schema that refers to itself without end is refused, and a loop data reaches is a 422', async () => {
    // Accepted before, and then every trigger of the type was a 500 (the check ran out of stack).
    for (const schema of [{ $ref: '#' }, { allOf: [{ $ref: '#' }] }, { not: { $ref: '#' } }]) {
      const res = await admin.post('/v1/event-types', { name: uniq('odd.loop'), schema });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.deepEqual(fieldsOf(res.body), ['schema']);
      assert.match(res.body.message, /refers to itself without end/);
    }
    // A loop only some data walks into: the type is fine until such data comes.
    const name = uniq('odd.deep');
    const created = await admin.post('/v1/event-types', {
      name,
      schema: {
        properties: { deep: { $ref: '#/definitions/x' } },
        definitions: { x: { allOf: [{ $ref: '#/definitions/x' }] } },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const tenant = await createTenant(admin);
    const fine = await admin.post(`/v1/tenants/${tenant.id}/events`, { type: name, data: {} });
    assert.equal(fine.status, 202, JSON.stringify(fine.body));
    const loop = await admin.post(`/v1/tenants/${tenant.id}/events`, {
      type: name,
      data: { deep: 1 },
    });
    assert.equal(loop.status, 422, JSON.stringify(loop.body));
    assert.deepEqual(fieldsOf(loop.body), ['data']);
    assert.match(loop.body.message, /could not be checked/);
  });

  test('a backtracking pattern is run in linear time, and one RE2 lacks is refused', async () => {
    // With JavaScript's RegExp, 31 characters of this took a minute and froze every request.
    const name = uniq('odd.redos');
    const created = await admin.post('/v1/event-types', {
      name,
      schema: { properties: { a: { type: 'string', pattern: '^(a+)+$' } } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const tenant = await createTenant(admin);
    const path = `/v1/tenants/${tenant.id}/events`;
    const res = await admin.post(path, { type: name, data: { a: 'a'.repeat(26) + '!' } });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.deepEqual(fieldsOf(res.body), ['data.a']);
    const fine = await admin.post(path, { type: name, data: { a: 'aaa' } });
    assert.equal(fine.status, 202, JSON.stringify(fine.body));
    // Lookahead (RE2 has none): refused, since no check short of running it shows it safe.
    const lookahead = await admin.post('/v1/event-types', {
      name: uniq('odd.look'),
      schema: { properties: { a: { pattern: '^(?!b)(a|a)*$' } } },
    });
    assert.equal(lookahead.status, 400, JSON.stringify(lookahead.body));
    assert.deepEqual(fieldsOf(lookahead.body), ['schema']);
    assert.match(lookahead.body.message, /linear-time engine \(RE2\) lacks/);
  });

  test('a schema larger than 64 KiB is refused, naming schema', async () => {
    // One of 300 KB held the API's event loop for 10 s while it compiled.
    const properties = Object.fromEntries(
      Array.from({ length: 1_500 }, (_, i) => [`p${i}`, { type: 'string', pattern: `^p${i}$` }]),
    );
    const res = await admin.post('/v1/event-types', {
      name: uniq('odd.wide'),
      schema: { properties },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.deepEqual(fieldsOf(res.body), ['schema']);
    assert.match(res.body.message, /the limit is 65536/);
  });

  test('a trigger for a tenant deleted after its guard looked is a 404, not a 500', async () => {
    const tenant = await createTenant(admin);
    const path = `/v1/tenants/${tenant.id}/events`;
    assert.equal((await admin.post(path, { type: 'odd.plain', data: {} })).status, 202);
    // Gone behind the API's back, while its short existence cache still says it is there.
    await pg.query('DELETE FROM tenants WHERE id = $1', [tenant.id]);
    const res = await admin.post(path, { type: 'odd.plain', data: {} });
    assert.equal(res.status, 404, JSON.stringify(res.body));
    // Not the guard's own 404: the write found the tenant gone.
    assert.match(res.body.message, /Tenant not found \(deleted while the event was stored\)/);
  });

  test('concurrent catalog imports of the same names in opposite orders all succeed', async () => {
    // In request order their row locks deadlocked (a 500 for all but one).
    const names = Array.from({ length: 50 }, (_, i) => `odd.imp${String(i).padStart(2, '0')}`);
    const types = names.map((name) => ({ name, category: 'odd' }));
    const results = await Promise.all(
      [types, [...types].reverse(), types, [...types].reverse()].map((list) =>
        admin.put('/v1/event-types', list),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200],
      JSON.stringify(results.map((r) => r.body?.message)),
    );
    assert.deepEqual(
      results[1].body.data.map((r: any) => r.name),
      [...names].reverse(),
      'the answer keeps the order asked for',
    );
  });

  test('cursors and windows naming times that do not exist are 400s', async () => {
    for (const at of [
      '2024-02-30T00:00:00.000000Z',
      '2024-13-01T00:00:00.000000Z',
      '0000-01-01T00:00:00.000000Z',
    ]) {
      for (const list of ['/v1/tenants', '/v1/event-types']) {
        const res = await admin.get(`${list}?cursor=${b64([at, 'x'])}`);
        assert.equal(res.status, 400, `${list} ${at}: ${JSON.stringify(res.body)}`);
        assert.deepEqual(fieldsOf(res.body), ['cursor']);
      }
    }
    const real = await admin.get(`/v1/tenants?cursor=${b64(['2024-02-29T00:00:00.000000Z', 'x'])}`);
    assert.equal(real.status, 200, JSON.stringify(real.body));
    const tenant = await createTenant(admin);
    for (const q of ['since=9999-12-31T23:00:00-05:00', 'until=9999-12-31T23:00:00-05:00']) {
      for (const log of [`/v1/tenants/${tenant.id}/deliveries`, '/v1/deliveries']) {
        const res = await admin.get(`${log}?${q.replace(':', '%3A')}`);
        assert.equal(res.status, 400, `${log}?${q}: ${JSON.stringify(res.body)}`);
        assert.deepEqual(fieldsOf(res.body), [q.split('=')[0]]);
      }
    }
    const ep = await admin.post(`/v1/tenants/${tenant.id}/endpoints`, {
      url: 'http://127.0.0.1:9/hook',
      eventTypes: ['odd.plain'],
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    const epId = ep.body.id;
    for (const body of [
      { since: '2026-W01' },
      { since: '2026-01-01T00:00:00Z', until: '20261231T000000Z' },
    ]) {
      const res = await admin.post(`/v1/tenants/${tenant.id}/endpoints/${epId}/recover`, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(fieldsOf(res.body), [Object.keys(body).at(-1)]);
    }
  });

  test('a body whose content-encoding does not match it is a 400', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await admin.request('POST', '/v1/tenants', 'not compressed at all', {
        'content-encoding': encoding,
      });
      assert.equal(res.status, 400, `${encoding}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(fieldsOf(res.body), ['body']);
    }
    // A body that is what it says still works.
    const res = await fetch(`${t.api.baseUrl}/v1/tenants`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${t.api.key}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body: gzipSync(JSON.stringify({ name: 'zipped' })),
    });
    assert.equal(res.status, 201, await res.text());
  });

  test("a query's empty values count as not given, as the contract's templates leave them", async () => {
    const tenant = await createTenant(admin);
    const ep = await admin.post(`/v1/tenants/${tenant.id}/endpoints`, {
      url: 'http://127.0.0.1:9/hook',
      eventTypes: ['odd.plain'],
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    for (let i = 0; i < 3; i++) {
      const res = await admin.post(`/v1/tenants/${tenant.id}/events`, {
        type: 'odd.plain',
        data: {},
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
    }
    const blank = 'status=&eventType=&endpointId=&eventId=&since=&until=&limit=&cursor=';
    for (const [path, query] of [
      [`/v1/tenants/${tenant.id}/deliveries`, blank],
      ['/v1/deliveries', `tenantId=&${blank}`],
      ['/v1/tenants', 'limit=&cursor='],
      [`/v1/tenants/${tenant.id}/endpoints`, 'enabled=&limit=&cursor='],
      [`/v1/tenants/${tenant.id}/alerts`, 'limit=&cursor='],
    ]) {
      const plain = await admin.get(path);
      assert.equal(plain.status, 200, `${path}: ${JSON.stringify(plain.body)}`);
      const res = await admin.get(`${path}?${query}`);
      assert.equal(res.status, 200, `${path}?${query}: ${JSON.stringify(res.body)}`);
      const ids = (r: typeof res) => r.body.data.map((x: { id: string }) => x.id);
      assert.deepEqual(ids(res), ids(plain), path);
    }
    const deliveries = await admin.get(`/v1/tenants/${tenant.id}/deliveries?${blank}`);
    assert.equal(deliveries.body.data.length, 3);
    // A repeated field keeps what is not empty; all empty is not given.
    const log = `/v1/tenants/${tenant.id}/deliveries`;
    for (const query of ['status=&status=', 'eventType=&eventType=', 'status=&status=pending']) {
      const res = await admin.get(`${log}?${query}`);
      assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.data.length, 3, query);
    }
    assert.equal((await admin.get(`${log}?status=&status=failed`)).body.data.length, 0);
    // A value given is still checked, and a key no route takes is still named, empty or not.
    for (const [query, field] of [
      ['status=&limit=0', 'limit'],
      ['bogus=', 'bogus'],
      ['constructor=', 'constructor'],
      ['prototype=&status=failed', 'prototype'],
    ]) {
      const bad = await admin.get(`${log}?${query}`);
      assert.equal(bad.status, 400, `${query}: ${JSON.stringify(bad.body)}`);
      assert.deepEqual(fieldsOf(bad.body), [field], query);
    }
  });
});
