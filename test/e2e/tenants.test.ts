// Tenants over HTTP: create (with the first key), list, get, edit, delete; validation and who may call.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import {
  Api,
  createEndpoint,
  createEventType,
  eventually,
  RunningTern,
  startReceiver,
  startTern,
  uniq,
  fieldsOf,
} from '../support/harness';
import { EXISTS_TTL_MS, TenantsService } from '../../src/tenants/tenants.service';

describe('tenants', () => {
  let t: RunningTern;
  let admin: Api;

  before(async () => {
    t = await startTern();
    admin = t.api;
  });
  after(async () => t?.close());

  test('creates a tenant with an operator-chosen id and returns its first API key', async () => {
    const id = uniq('org:42.a-');
    const res = await admin.post('/v1/tenants', { id, name: 'Acme', metadata: { plan: 'pro' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.id, id);
    assert.equal(res.body.name, 'Acme');
    assert.deepEqual(res.body.metadata, { plan: 'pro' });
    assert.match(res.body.apiKey, /^tern_key_[0-9a-z]{26}\.[A-Za-z0-9_-]{43}$/);
    assert.ok(!Number.isNaN(Date.parse(res.body.createdAt)));
    assert.ok(!Number.isNaN(Date.parse(res.body.updatedAt)));
    // The key works at once (catalog reads are open to any tenant key).
    assert.equal((await admin.as(res.body.apiKey).get('/v1/event-types')).status, 200);
    // ... and is never shown again.
    const got = await admin.get(`/v1/tenants/${id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.apiKey, undefined);
    assert.deepEqual(got.body, {
      id,
      name: 'Acme',
      metadata: { plan: 'pro' },
      createdAt: res.body.createdAt,
      updatedAt: res.body.updatedAt,
    });
  });

  test('generates a ten_ id when none is given, with empty metadata', async () => {
    const res = await admin.post('/v1/tenants', { name: 'No id' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.id, /^ten_[0-9a-z]{26}$/);
    assert.deepEqual(res.body.metadata, {});
  });

  test('a taken id is a 409 and leaves no extra key behind', async () => {
    const id = uniq('dup_');
    assert.equal((await admin.post('/v1/tenants', { id, name: 'First' })).status, 201);
    const again = await admin.post('/v1/tenants', { id, name: 'Second' });
    assert.equal(again.status, 409);
    assert.equal(again.body.statusCode, 409);
    assert.equal(again.body.error, 'Conflict');
    assert.equal((await admin.get(`/v1/tenants/${id}`)).body.name, 'First');
    const keys = await admin.get(`/v1/tenants/${id}/api-keys`);
    assert.equal(keys.body.data.length, 1);
  });

  test('validation failures name the field', async () => {
    const cases: [unknown, string][] = [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 42 }, 'name'],
      [{ name: 'x'.repeat(257) }, 'name'],
      [{ name: 'ok', id: 'has space' }, 'id'],
      [{ name: 'ok', id: 'a/b' }, 'id'],
      [{ name: 'ok', id: 'x'.repeat(65) }, 'id'],
      [{ name: 'ok', id: '' }, 'id'],
      [{ name: 'ok', id: 7 }, 'id'],
      [{ name: 'ok', color: 'red' }, 'color'],
      [{ name: 'ok', metadata: 'text' }, 'metadata'],
      [{ name: 'ok', metadata: [1, 2] }, 'metadata'],
      [
        {
          name: 'ok',
          metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])),
        },
        'metadata',
      ],
      [{ name: 'ok', metadata: { big: 'x'.repeat(17 * 1024) } }, 'metadata'],
      [{ name: 'ok', metadata: { ['k'.repeat(65)]: 1 } }, 'metadata'],
      // Postgres stores no NUL in text or jsonb: these were 500s.
      [{ name: 'a\u0000b' }, 'name'],
      [{ name: 'ok', metadata: { note: ['x', 'y\u0000'] } }, 'metadata.note[1]'],
    ];
    for (const [body, field] of cases) {
      const res = await admin.post('/v1/tenants', body);
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)} -> ${res.status}`);
      assert.equal(res.body.error, 'Bad Request');
      assert.ok(
        fieldsOf(res.body).includes(field),
        `${JSON.stringify(body).slice(0, 80)}: details ${JSON.stringify(res.body.details)}`,
      );
    }
    // Bounds are inclusive: 50 keys and exactly 64-char ids are fine.
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    const ok = await admin.post('/v1/tenants', {
      id: uniq('').padEnd(64, 'z'),
      name: 'ok',
      metadata: fifty,
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });

  test('a body that is not JSON is refused', async () => {
    const res = await admin.request('POST', '/v1/tenants', '{"name":', {
      'content-type': 'application/json',
    });
    assert.equal(res.status, 400);
    const text = await admin.request('POST', '/v1/tenants', 'name=x', {
      'content-type': 'text/plain',
    });
    assert.equal(text.status, 415);
  });

  test('PATCH renames and replaces metadata; null clears it; omitted fields stay', async () => {
    const { body: created } = await admin.post('/v1/tenants', {
      name: 'Before',
      metadata: { a: 1, b: 2 },
    });
    const renamed = await admin.patch(`/v1/tenants/${created.id}`, { name: 'After' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.name, 'After');
    assert.deepEqual(renamed.body.metadata, { a: 1, b: 2 });
    assert.equal(renamed.body.createdAt, created.createdAt);
    assert.ok(Date.parse(renamed.body.updatedAt) >= Date.parse(created.updatedAt));

    const meta = await admin.patch(`/v1/tenants/${created.id}`, { metadata: { c: 3 } });
    assert.equal(meta.status, 200);
    assert.deepEqual(meta.body.metadata, { c: 3 });
    assert.equal(meta.body.name, 'After');

    const cleared = await admin.patch(`/v1/tenants/${created.id}`, { metadata: null });
    assert.deepEqual(cleared.body.metadata, {});

    for (const [body, field] of [
      [{ name: null }, 'name'],
      [{ name: '' }, 'name'],
      [{ id: 'other' }, 'id'],
      [{ metadata: 5 }, 'metadata'],
    ] as [unknown, string][]) {
      const bad = await admin.patch(`/v1/tenants/${created.id}`, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.ok(fieldsOf(bad.body).includes(field), JSON.stringify(bad.body));
    }
    assert.equal((await admin.patch('/v1/tenants/nope-nope', { name: 'x' })).status, 404);
  });

  /** A tenant with one endpoint on `receiverUrl` and one event, delivered: its first attempt is in. */
  async function tenantWithAttempt(
    pg: Client,
    receiverUrl: string,
    name: string,
  ): Promise<{ tenantId: string; deliveryId: string; attemptsOf: () => Promise<number> }> {
    await createEventType(admin, `${name}.sent`);
    const { body: tenant } = await admin.post('/v1/tenants', { name });
    await createEndpoint(admin, tenant.id, {
      url: `${receiverUrl}/${name}`,
      eventTypes: [`${name}.*`],
    });
    const ev = await admin.post(`/v1/tenants/${tenant.id}/events`, {
      type: `${name}.sent`,
      data: { n: 1 },
    });
    assert.equal(ev.status, 202);
    const deliveryId = ev.body.deliveries[0].id;
    const attemptsOf = async () =>
      (
        await pg.query(`SELECT count(*)::int AS n FROM attempts WHERE delivery_id = $1`, [
          deliveryId,
        ])
      ).rows[0].n;
    await eventually(async () => (await attemptsOf()) === 1, 10_000, 'the attempt recorded');
    return { tenantId: tenant.id, deliveryId, attemptsOf };
  }

  test("DELETE takes the tenant's endpoints, events, deliveries and attempts with it", async () => {
    const rcv = await startReceiver();
    const pg = new Client({ connectionString: t.databaseUrl });
    await pg.connect();
    try {
      const { tenantId, deliveryId } = await tenantWithAttempt(pg, rcv.url, 'doom');
      const count = async (table: string) =>
        (
          await pg.query(
            `SELECT count(*)::int AS n FROM ${table} WHERE ${table === 'attempts' ? 'delivery_id IN (SELECT id FROM deliveries WHERE tenant_id = $1)' : 'tenant_id = $1'}`,
            [tenantId],
          )
        ).rows[0].n;
      const attempts = await pg.query(`SELECT id FROM attempts WHERE delivery_id = $1`, [
        deliveryId,
      ]);
      assert.equal((await admin.delete(`/v1/tenants/${tenantId}`)).status, 204);
      for (const table of ['endpoints', 'events', 'deliveries'])
        assert.equal(await count(table), 0, table);
      assert.equal(
        (
          await pg.query(`SELECT count(*)::int AS n FROM attempts WHERE id = $1`, [
            attempts.rows[0].id,
          ])
        ).rows[0].n,
        0,
        'attempts',
      );
    } finally {
      await pg.end();
      await rcv.close();
    }
  });

  test('DELETE waits for a result being written, and takes its attempt too', async () => {
    const rcv = await startReceiver();
    const pg = new Client({ connectionString: t.databaseUrl });
    const writer = new Client({ connectionString: t.databaseUrl });
    await pg.connect();
    await writer.connect();
    try {
      const { tenantId, deliveryId, attemptsOf } = await tenantWithAttempt(pg, rcv.url, 'race');
      // A worker's result write, caught between its UPDATE and its COMMIT (as the record
      // statement is: it updates the delivery and inserts the attempt in one transaction).
      await writer.query('BEGIN');
      await writer.query(`UPDATE deliveries SET updated_at = now() WHERE id = $1`, [deliveryId]);
      await writer.query(
        `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms)
         VALUES ('att_race_' || md5(random()::text), $1, 2, now(), 1)`,
        [deliveryId],
      );
      const deleting = admin.delete(`/v1/tenants/${tenantId}`);
      await new Promise((r) => setTimeout(r, 300));
      await writer.query('COMMIT');
      assert.equal((await deleting).status, 204);
      assert.equal(await attemptsOf(), 0, 'no attempt is left without its delivery');
      assert.equal(
        (await pg.query(`SELECT count(*)::int AS n FROM deliveries WHERE id = $1`, [deliveryId]))
          .rows[0].n,
        0,
      );
    } finally {
      await writer.end();
      await pg.end();
      await rcv.close();
    }
  });

  test('DELETE removes the tenant and its keys', async () => {
    const { body: created } = await admin.post('/v1/tenants', { name: 'Doomed' });
    const tenantKey = admin.as(created.apiKey);
    assert.equal((await tenantKey.get('/v1/event-types')).status, 200);
    const del = await admin.delete(`/v1/tenants/${created.id}`);
    assert.equal(del.status, 204);
    assert.equal(del.body, null);
    assert.equal((await admin.get(`/v1/tenants/${created.id}`)).status, 404);
    assert.equal((await admin.delete(`/v1/tenants/${created.id}`)).status, 404);
    assert.equal((await tenantKey.get('/v1/event-types')).status, 401);
  });

  test('admin requests under a tenant that miss the exists cache at once share one query', async () => {
    const { body: created } = await admin.post('/v1/tenants', { name: 'Busy' });
    const service = t.app.get(TenantsService);
    // Counts the existence checks; Postgres still answers every one.
    const repo = (service as any).tenants;
    const exists = repo.exists.bind(repo);
    let checks = 0;
    repo.exists = (...args: unknown[]) => {
      checks++;
      return exists(...args);
    };
    try {
      await new Promise((r) => setTimeout(r, EXISTS_TTL_MS + 50)); // its cached yes runs out
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => admin.get(`/v1/tenants/${created.id}/endpoints`)),
      );
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(20).fill(200),
      );
      assert.equal(checks, 1, 'one check for twenty concurrent requests');
      assert.equal((await admin.get(`/v1/tenants/missing_${created.id}/endpoints`)).status, 404);
      assert.equal(checks, 2);
    } finally {
      repo.exists = exists;
    }
  });

  test('lists newest first across pages, stable when tenants are added between fetches', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 7; i++) {
      // Operator ids deliberately out of time order: the list must follow creation time.
      const id = uniq(`${String.fromCharCode(122 - i)}_page_`);
      assert.equal((await admin.post('/v1/tenants', { id, name: `P${i}` })).status, 201);
      mine.push(id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const path: string = `/v1/tenants?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await admin.get(path);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.data.length <= 3);
      seen.push(...res.body.data.map((x: any) => x.id));
      cursor = res.body.nextCursor;
      if (pages === 0) {
        // New tenants arriving mid-walk are newer than the cursor: not seen, nothing skipped.
        for (let i = 0; i < 2; i++) await admin.post('/v1/tenants', { name: `late ${i}` });
      }
      pages++;
    } while (cursor);
    assert.ok(pages >= 3);
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    const order = seen.filter((id) => mine.includes(id));
    assert.deepEqual(order, [...mine].reverse(), 'all of them, newest first');
    // Timestamps never increase along the list.
    const all = (await admin.get('/v1/tenants?limit=250')).body.data;
    for (let i = 1; i < all.length; i++)
      assert.ok(Date.parse(all[i - 1].createdAt) >= Date.parse(all[i].createdAt));
  });

  test('page parameters are validated', async () => {
    for (const [q, field] of [
      ['limit=0', 'limit'],
      ['limit=251', 'limit'],
      ['limit=abc', 'limit'],
      ['cursor=garbage', 'cursor'],
      [
        `cursor=${Buffer.from(JSON.stringify(['not a time', 'x'])).toString('base64url')}`,
        'cursor',
      ],
      ['sort=name', 'sort'],
    ]) {
      const res = await admin.get(`/v1/tenants?${q}`);
      assert.equal(res.status, 400, q);
      assert.ok(fieldsOf(res.body).includes(field), `${q}: ${JSON.stringify(res.body)}`);
    }
  });

  test('missing or bad keys answer 401', async () => {
    for (const key of [null, 'wrong', 'tern_key_00000000000000000000000000.' + 'a'.repeat(43)]) {
      const res = await admin.as(key).get('/v1/tenants');
      assert.equal(res.status, 401, String(key));
      assert.equal(res.body.statusCode, 401);
    }
    const raw = await fetch(`${t.url}/v1/tenants`, { headers: { authorization: 'Basic abc' } });
    assert.equal(raw.status, 401);
  });

  test('tenant keys get 404 on every tenant-management route, their own tenant included', async () => {
    const a = (await admin.post('/v1/tenants', { name: 'A' })).body;
    const b = (await admin.post('/v1/tenants', { name: 'B' })).body;
    const asA = admin.as(a.apiKey);
    const calls: [string, string, unknown?][] = [
      ['POST', '/v1/tenants', { name: 'sneaky' }],
      ['GET', '/v1/tenants'],
      ['GET', `/v1/tenants/${a.id}`],
      ['PATCH', `/v1/tenants/${a.id}`, { name: 'mine now' }],
      ['DELETE', `/v1/tenants/${a.id}`],
      ['GET', `/v1/tenants/${b.id}`],
      ['PATCH', `/v1/tenants/${b.id}`, { name: 'yours now' }],
      ['DELETE', `/v1/tenants/${b.id}`],
    ];
    for (const [method, path, body] of calls) {
      const res = await asA.request(method, path, body);
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    assert.equal((await admin.get(`/v1/tenants/${a.id}`)).body.name, 'A');
    assert.equal((await admin.get(`/v1/tenants/${b.id}`)).body.name, 'B');
  });

  test('the routes are in the OpenAPI document', async () => {
    const spec = (await admin.get('/docs-json')).body;
    for (const p of ['/v1/tenants', '/v1/tenants/{tenantId}', '/v1/tenants/{tenantId}/api-keys'])
      assert.ok(spec.paths[p], p);
    assert.ok(spec.paths['/v1/tenants/{tenantId}/api-keys/{keyId}'].delete);
  });
});
