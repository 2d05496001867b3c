// Endpoints over HTTP against real Postgres: CRUD, secrets shown only on create/rotate, rotation,
// validation (SSRF included, with a second Tern that opens no address range), tenant isolation,
// pagination, and the service methods other modules call.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { Api, fieldsOf, RunningTern, startTern, uniq } from '../support/harness';
import { newId } from '../../src/common/ids';
import { hashSecret } from '../../src/tenants/api-keys.service';
import { EndpointsService } from '../../src/endpoints/endpoints.service';
import { EventsService } from '../../src/events/events.service';

const RESPONSE_KEYS = [
  'createdAt',
  'description',
  'enabled',
  'eventTypes',
  'disabledReason',
  'headers',
  'id',
  'rateLimitPerSecond',
  'tenantId',
  'updatedAt',
  'url',
].sort();

const TARGET = 'http://127.0.0.1:9/hook';

let tern: RunningTern;
let strict: RunningTern; // ALLOWED_TARGET_CIDRS='': nothing private is reachable
let db: Client;
let strictDb: Client;

// Tenants and catalog types are made with SQL so this file depends on no other module's routes.
async function seedTenant(client: Client, id = uniq('t_')): Promise<{ id: string; key: Api }> {
  await client.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Test tenant')`, [id]);
  const keyId = newId('key');
  const secret = randomBytes(32).toString('base64url');
  await client.query(`INSERT INTO api_keys (id, tenant_id, secret_hash) VALUES ($1, $2, $3)`, [
    keyId,
    id,
    hashSecret(secret),
  ]);
  return { id, key: tern.api.as(`tern_${keyId}.${secret}`) };
}

async function seedTypes(client: Client, names: string[], archived = false): Promise<void> {
  for (const name of names) {
    await client.query(
      `INSERT INTO event_types (name, category, archived_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO NOTHING`,
      [name, name.split('.')[0], archived ? new Date() : null],
    );
  }
}

/** An endpoint of `tenantId` subscribed to a new type, archived since; its path and the type. */
async function endpointOnArchivedType(tenantId: string): Promise<{ path: string; name: string }> {
  const name = uniq('soon.archived');
  await seedTypes(db, [name]);
  const ep = (
    await tern.api.post(`/v1/tenants/${tenantId}/endpoints`, { url: TARGET, eventTypes: [name] })
  ).body;
  await db.query(`UPDATE event_types SET archived_at = now() WHERE name = $1`, [name]);
  return { path: `/v1/tenants/${tenantId}/endpoints/${ep.id}`, name };
}

async function seedDelivery(tenantId: string, endpointId: string): Promise<string> {
  const eventId = newId('evt');
  const id = newId('dlv');
  await db.query(
    `INSERT INTO events (id, tenant_id, type, body) VALUES ($1, $2, 'order.paid', '{}')`,
    [eventId, tenantId],
  );
  // Due in an hour, so no dispatcher picks it up while the test looks at it.
  await db.query(
    `INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, max_attempts, next_attempt_at)
     VALUES ($1, $2, $3, $4, 'order.paid', 'pending', 5, now() + interval '1 hour')`,
    [id, tenantId, eventId, endpointId],
  );
  return id;
}

const deliveryStatus = async (id: string) =>
  (await db.query(`SELECT status FROM deliveries WHERE id = $1`, [id])).rows[0].status as string;

function assertInvalid(res: { status: number; body: any }, field: string, message?: RegExp) {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.statusCode, 400);
  assert.equal(res.body.error, 'Bad Request');
  const problem = (res.body.details as { field: string; message: string }[]).find(
    (d) => d.field === field,
  );
  assert.ok(problem, `expected a problem naming ${field}: ${JSON.stringify(res.body)}`);
  if (message) assert.match(problem.message, message);
  assert.match(res.body.message, new RegExp(field.replace(/[[\].]/g, '\\$&')));
}

before(async () => {
  [tern, strict] = await Promise.all([startTern(), startTern({ ALLOWED_TARGET_CIDRS: '' })]);
  db = new Client({ connectionString: tern.databaseUrl });
  strictDb = new Client({ connectionString: strict.databaseUrl });
  await Promise.all([db.connect(), strictDb.connect()]);
  await seedTypes(db, ['order.paid', 'order.refunded', 'invoice.created', 'user.signed_up']);
  await seedTypes(db, ['legacy.thing'], true);
});

after(async () => {
  await Promise.all([db?.end(), strictDb?.end()]);
  await Promise.all([tern?.close(), strict?.close()]);
});

describe('create, read, list', () => {
  test('creates an endpoint: 201 with a generated secret, URL normalised', async () => {
    const t = await seedTenant(db);
    const res = await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
      url: 'HTTP://127.0.0.1:80/Hook?a=1#fragment',
      eventTypes: ['order.paid', 'invoice.*', '*', 'tern.delivery.failed'],
      description: 'primary',
      headers: { 'X-Api-Key': 'abc' },
      rateLimitPerSecond: 50,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), [...RESPONSE_KEYS, 'secret'].sort());
    assert.match(res.body.id, /^ep_[0-9a-z]{26}$/);
    assert.equal(res.body.tenantId, t.id);
    assert.equal(res.body.url, 'http://127.0.0.1/Hook?a=1');
    assert.deepEqual(res.body.eventTypes, ['*', 'invoice.*', 'order.paid', 'tern.delivery.failed']);
    assert.deepEqual(res.body.headers, { 'X-Api-Key': 'abc' });
    assert.equal(res.body.description, 'primary');
    assert.equal(res.body.enabled, true);
    assert.equal(res.body.disabledReason, null);
    assert.equal(res.body.rateLimitPerSecond, 50);
    assert.ok(!Number.isNaN(Date.parse(res.body.createdAt)));
    assert.match(res.body.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(res.body.secret.slice(6), 'base64').length, 32);

    const stored = await db.query(`SELECT secret FROM endpoints WHERE id = $1`, [res.body.id]);
    assert.equal(stored.rows[0].secret, res.body.secret);
  });

  test('defaults: no description, no headers, enabled, no rate limit', async () => {
    const t = await seedTenant(db);
    const res = await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
      url: TARGET,
      eventTypes: ['order.paid'],
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.description, null);
    assert.deepEqual(res.body.headers, {});
    assert.equal(res.body.enabled, true);
    assert.equal(res.body.rateLimitPerSecond, null);
  });

  test('a supplied secret is kept; enabled:false starts disabled by API', async () => {
    const t = await seedTenant(db);
    const secret = 'whsec_' + randomBytes(24).toString('base64');
    const res = await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
      url: TARGET,
      eventTypes: ['order.paid'],
      secret,
      enabled: false,
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.secret, secret);
    assert.equal(res.body.enabled, false);
    assert.equal(res.body.disabledReason, 'disabled by API');
  });

  test('the secret never appears on GET or in the list', async () => {
    const t = await seedTenant(db);
    const created = await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
      url: TARGET,
      eventTypes: ['order.paid'],
    });
    const got = await tern.api.get(`/v1/tenants/${t.id}/endpoints/${created.body.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(Object.keys(got.body).sort(), RESPONSE_KEYS);
    const { secret: _secret, ...rest } = created.body;
    assert.deepEqual(got.body, rest);
    const list = await tern.api.get(`/v1/tenants/${t.id}/endpoints`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, { data: [rest], nextCursor: null });
    assert.ok(!JSON.stringify(list.body).includes('whsec_'));
    assert.ok(!JSON.stringify(got.body).includes('whsec_'));
  });

  test('a tenant key manages its own endpoints', async () => {
    const t = await seedTenant(db);
    const created = await t.key.post(`/v1/tenants/${t.id}/endpoints`, {
      url: TARGET,
      eventTypes: ['order.paid'],
    });
    assert.equal(created.status, 201);
    assert.equal((await t.key.get(`/v1/tenants/${t.id}/endpoints/${created.body.id}`)).status, 200);
  });

  test('without a key: 401', async () => {
    const t = await seedTenant(db);
    const res = await tern.api.as(null).get(`/v1/tenants/${t.id}/endpoints`);
    assert.equal(res.status, 401);
  });
});

describe('validation: each 400 names its field', () => {
  let tenant: string;
  const post = (body: Record<string, unknown>) =>
    tern.api.post(`/v1/tenants/${tenant}/endpoints`, {
      url: TARGET,
      eventTypes: ['order.paid'],
      ...body,
    });
  before(async () => {
    tenant = (await seedTenant(db)).id;
  });

  test('url: scheme, credentials, shape, length', async () => {
    assertInvalid(await post({ url: 'ftp://example.com/' }), 'url', /http or https/);
    assertInvalid(await post({ url: 'file:///etc/passwd' }), 'url', /http or https/);
    assertInvalid(await post({ url: 'https://user:pass@example.com/' }), 'url', /credentials/);
    assertInvalid(await post({ url: 'not a url' }), 'url');
    assertInvalid(await post({ url: 'example.com/hook' }), 'url', /absolute URL/);
    assertInvalid(await post({ url: `https://example.com/${'a'.repeat(2048)}` }), 'url', /2048/);
    assertInvalid(await post({ url: 42 }), 'url');
    assertInvalid(await post({ url: undefined }), 'url');
  });

  test('url: cloud metadata, private, link-local and CGNAT targets are refused', async () => {
    assertInvalid(
      await post({ url: 'http://169.254.169.254/latest/meta-data/' }),
      'url',
      /169\.254\.169\.254 \(link-local \(cloud metadata\)\) is not allowed/,
    );
    assertInvalid(await post({ url: 'http://10.0.0.1/' }), 'url', /10\.0\.0\.1 \(private\)/);
    assertInvalid(await post({ url: 'http://[fe80::1]/' }), 'url', /link-local/);
    assertInvalid(await post({ url: 'http://100.64.0.1/' }), 'url', /carrier-grade NAT/);
    assertInvalid(await post({ url: 'http://0.0.0.0/' }), 'url', /unspecified/);
    assertInvalid(await post({ url: 'http://[::1]:8080/' }), 'url', /::1 \(loopback\)/);
    assertInvalid(
      await post({ url: 'http://[64:ff9b::a9fe:a9fe]/' }),
      'url',
      /NAT64 of 169\.254\.169\.254/,
    );
    assertInvalid(
      await post({ url: 'http://no-such-host.invalid/' }),
      'url',
      /could not be resolved/,
    );
  });

  test('with no allowed range, loopback is refused in every form (second Tern)', async () => {
    const t = (await seedTenant(strictDb)).id;
    await seedTypes(strictDb, ['order.paid']);
    const strictPost = (url: string) =>
      strict.api.post(`/v1/tenants/${t}/endpoints`, { url, eventTypes: ['order.paid'] });
    assertInvalid(
      await strictPost('http://[::ffff:127.0.0.1]/'),
      'url',
      /::ffff:7f00:1 \(loopback \(IPv4-mapped of 127\.0\.0\.1\)\) is not allowed/,
    );
    for (const url of [
      'http://127.0.0.1/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://0177.0.0.1/',
      'http://127.1/',
      'http://[::ffff:7f00:1]/',
    ])
      assertInvalid(await strictPost(url), 'url', /127\.0\.0\.1|7f00:1/);
    assertInvalid(
      await strictPost('http://localhost:1/'),
      'url',
      /target localhost resolves to .* \(loopback\), which is not allowed/,
    );
    // the same URL the first Tern accepts (127.0.0.0/8 allowed there)
    assert.equal((await post({ url: 'http://[::ffff:127.0.0.1]/' })).status, 201);
    assert.equal((await post({ url: 'http://localhost:1/' })).status, 201);
  });

  test('eventTypes: unknown, archived, malformed, repeated, reserved wildcards, empty', async () => {
    assertInvalid(
      await post({ eventTypes: ['order.paid', 'nope.never'] }),
      'eventTypes[1]',
      /"nope\.never" is not in the event type catalog/,
    );
    assertInvalid(
      await post({ eventTypes: ['legacy.thing'] }),
      'eventTypes[0]',
      /"legacy\.thing" is archived/,
    );
    assertInvalid(await post({ eventTypes: ['order.*.x'] }), 'eventTypes[0]', /prefix wildcard/);
    assertInvalid(
      await post({ eventTypes: ['order.*', 'order.*'] }),
      'eventTypes[1]',
      /repeats eventTypes\[0\]/,
    );
    assertInvalid(await post({ eventTypes: ['tern.*'] }), 'eventTypes[0]', /reserved/);
    assertInvalid(await post({ eventTypes: [] }), 'eventTypes');
    assertInvalid(await post({ eventTypes: 'order.paid' }), 'eventTypes');
    assertInvalid(await post({ eventTypes: [1] }), 'eventTypes');
    const several = await post({ eventTypes: ['a.b', 'order.paid', 'c.d', 'legacy.thing'] });
    assert.deepEqual(fieldsOf(several.body), ['eventTypes[0]', 'eventTypes[2]', 'eventTypes[3]']);
  });

  test('eventTypes: wildcards and reserved names by exact name are accepted', async () => {
    const res = await post({
      eventTypes: ['*', 'order.*', 'future.namespace.*', 'webhook.test', 'tern.endpoint.disabled'],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });

  test('headers: reserved names, CR/LF, NUL, bad names, too many', async () => {
    assertInvalid(
      await post({ headers: { 'Content-Type': 'text/plain' } }),
      'headers.Content-Type',
      /set by Tern/,
    );
    assertInvalid(
      await post({ headers: { 'webhook-signature': 'v1,x' } }),
      'headers.webhook-signature',
    );
    assertInvalid(await post({ headers: { HOST: 'evil.example' } }), 'headers.HOST');
    assertInvalid(
      await post({ headers: { 'X-Foo': 'a\r\nX-Injected: 1' } }),
      'headers.X-Foo',
      /CR or LF/,
    );
    assertInvalid(await post({ headers: { 'X-Foo': 'a\nb' } }), 'headers.X-Foo', /CR or LF/);
    assertInvalid(await post({ headers: { 'X-Foo': 'a\u0000b' } }), 'headers.X-Foo', /NUL/);
    assertInvalid(await post({ headers: { 'Bad Name': 'x' } }), 'headers.Bad Name', /header name/);
    assertInvalid(await post({ headers: { 'X-Foo': 1 } }), 'headers.X-Foo', /string/);
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']));
    assertInvalid(await post({ headers: many }), 'headers', /at most 20/);
    assertInvalid(await post({ headers: ['x'] }), 'headers');
  });

  test('secret, description, rateLimitPerSecond, unknown fields', async () => {
    assertInvalid(await post({ secret: 'plain' }), 'secret', /whsec_/);
    assertInvalid(
      await post({ secret: 'whsec_' + randomBytes(16).toString('base64') }),
      'secret',
      /24 to 64 bytes/,
    );
    assertInvalid(await post({ secret: 'whsec_' + randomBytes(65).toString('base64') }), 'secret');
    assertInvalid(await post({ description: 'x'.repeat(1025) }), 'description');
    assertInvalid(await post({ rateLimitPerSecond: 0 }), 'rateLimitPerSecond');
    assertInvalid(await post({ rateLimitPerSecond: 10_001 }), 'rateLimitPerSecond');
    assertInvalid(await post({ rateLimitPerSecond: 1.5 }), 'rateLimitPerSecond');
    assertInvalid(await post({ enabled: 'yes' }), 'enabled');
    assertInvalid(await post({ colour: 'blue' }), 'colour', /not a known field/);
  });

  test('several problems come back together', async () => {
    const res = await post({
      url: 'http://169.254.169.254/',
      eventTypes: ['nope.never'],
      headers: { 'User-Agent': 'x' },
      secret: 'bad',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(fieldsOf(res.body), ['url', 'eventTypes[0]', 'headers.User-Agent', 'secret']);
  });
});

describe("shape problems and the service's come back together", () => {
  // Each body has a field of the wrong shape beside fields only the service's checks refuse; a
  // field of the wrong shape is named once, for its shape.
  const BODIES: [string, string, string[]][] = [
    [
      'a bad rate limit',
      '{"url":"ftp://x","eventTypes":["nope.type"],"headers":{"host":"x"},"rateLimitPerSecond":0}',
      ['url', 'eventTypes[0]', 'headers.host', 'rateLimitPerSecond'],
    ],
    [
      'a description that is a number',
      '{"url":"ftp://x","eventTypes":["order.paid"],"description":5}',
      ['url', 'description', 'description'], // a number is neither a string nor short enough
    ],
    [
      'a url and eventTypes of the wrong type',
      '{"url":5,"eventTypes":"x","headers":{"host":"x"}}',
      ['url', 'eventTypes', 'eventTypes', 'eventTypes', 'headers.host'], // one per constraint
    ],
  ];
  let t: { id: string; key: Api };
  let path: string;
  before(async () => {
    t = await seedTenant(db);
    const ep = await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
      url: TARGET,
      eventTypes: ['order.paid'],
    });
    path = `/v1/tenants/${t.id}/endpoints/${ep.body.id}`;
  });

  for (const [what, body, fields] of BODIES) {
    test(`POST with ${what}`, async () => {
      const res = await tern.api.post(`/v1/tenants/${t.id}/endpoints`, body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.deepEqual(fieldsOf(res.body), fields);
      for (const f of fields) assertInvalid(res, f);
    });

    test(`PATCH with ${what}`, async () => {
      const res = await tern.api.patch(path, body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.deepEqual(fieldsOf(res.body), fields);
      assert.deepEqual((await tern.api.get(path)).body.eventTypes, ['order.paid']);
    });
  }

  test('the shape problem is the one named: no domain check runs on a value of the wrong type', async () => {
    const res = await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
      url: ['ftp://x'],
      eventTypes: ['order.paid', 7],
      headers: 'host: x',
      secret: 12,
    });
    assert.deepEqual(
      res.body.details,
      [
        { field: 'url', message: 'url must be a string' },
        { field: 'eventTypes', message: 'each value in eventTypes must be a string' },
        { field: 'headers', message: 'headers must be an object' },
        { field: 'secret', message: 'secret must be a string' },
      ],
      JSON.stringify(res.body),
    );
  });

  test("unknown fields are named beside the service's problems", async () => {
    const res = await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
      url: 'ftp://x',
      eventTypes: ['order.paid'],
      colour: 'blue',
    });
    assert.deepEqual(fieldsOf(res.body), ['colour', 'url']);
    assertInvalid(res, 'colour', /is not a known field/);
  });

  test('PATCH: an archived type already subscribed may still stay beside a shape problem', async () => {
    const archived = await endpointOnArchivedType(t.id);
    const res = await tern.api.patch(archived.path, {
      eventTypes: [archived.name, 'legacy.thing'],
      rateLimitPerSecond: 0,
    });
    assert.deepEqual(fieldsOf(res.body), ['eventTypes[1]', 'rateLimitPerSecond']);
  });

  test('PATCH of an unknown endpoint: 400 naming the shape problems alone, else 404', async () => {
    const unknown = `/v1/tenants/${t.id}/endpoints/${newId('ep')}`;
    // Nothing is resolved or looked up for an endpoint that is not there: the URL is not named.
    const shape = await tern.api.patch(unknown, { url: 'ftp://x', rateLimitPerSecond: 0 });
    assert.equal(shape.status, 400, JSON.stringify(shape.body));
    assert.deepEqual(fieldsOf(shape.body), ['rateLimitPerSecond']);
    assert.equal((await tern.api.patch(unknown, { url: 'ftp://x' })).status, 404);
    assert.equal((await tern.api.patch(unknown, {})).status, 404);
  });

  test('a refused key or an unstorable value is still the one problem named', async () => {
    for (const send of [
      (b: string) => tern.api.post(`/v1/tenants/${t.id}/endpoints`, b),
      (b: string) => tern.api.patch(path, b),
    ]) {
      const proto = await send(
        '{"url":"ftp://x","eventTypes":["nope.type"],"headers":{"__proto__":{}},"rateLimitPerSecond":0}',
      );
      assert.deepEqual(proto.body.details, [
        {
          field: 'headers.__proto__',
          message: 'keys named __proto__, constructor or prototype are not accepted',
        },
      ]);
      const nul = await send(
        '{"url":"ftp://x","eventTypes":["nope.type"],"description":"a\\u0000b","rateLimitPerSecond":0}',
      );
      assert.deepEqual(nul.body.details, [
        { field: 'description', message: 'must not contain the NUL character (U+0000)' },
      ]);
    }
  });

  test('a body that is not an object keeps its answer: its shape problems only', async () => {
    const res = await tern.api.post(`/v1/tenants/${t.id}/endpoints`, '["ftp://x"]');
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual([...new Set(fieldsOf(res.body))], ['0', 'url', 'eventTypes']);
    assert.deepEqual(fieldsOf((await tern.api.patch(path, '["ftp://x"]')).body), ['0']);
  });
});

describe('patch', () => {
  test('changes url (re-vetted), eventTypes (replaced), description, headers, rate limit', async () => {
    const t = await seedTenant(db);
    const ep = (
      await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
        url: TARGET,
        eventTypes: ['order.paid', 'order.refunded'],
        description: 'd',
        headers: { 'X-A': '1' },
        rateLimitPerSecond: 5,
      })
    ).body;
    const path = `/v1/tenants/${t.id}/endpoints/${ep.id}`;
    const res = await tern.api.patch(path, {
      url: 'http://127.0.0.2:8080/new#x',
      eventTypes: ['invoice.created', 'user.*'],
      description: null,
      headers: { 'X-B': '2' },
      rateLimitPerSecond: null,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), RESPONSE_KEYS);
    assert.equal(res.body.url, 'http://127.0.0.2:8080/new');
    assert.deepEqual(res.body.eventTypes, ['invoice.created', 'user.*']);
    assert.equal(res.body.description, null);
    assert.deepEqual(res.body.headers, { 'X-B': '2' });
    assert.equal(res.body.rateLimitPerSecond, null);
    assert.ok(Date.parse(res.body.updatedAt) >= Date.parse(ep.updatedAt));
    const subs = await db.query(
      `SELECT pattern, tenant_id FROM endpoint_subscriptions WHERE endpoint_id = $1 ORDER BY pattern`,
      [ep.id],
    );
    assert.deepEqual(subs.rows, [
      { pattern: 'invoice.created', tenant_id: t.id },
      { pattern: 'user.*', tenant_id: t.id },
    ]);
    assert.deepEqual((await tern.api.get(path)).body, res.body);

    // an empty patch changes nothing
    const same = await tern.api.patch(path, {});
    assert.equal(same.status, 200);
    assert.equal(same.body.url, res.body.url);
  });

  test('refuses what creation refuses, and nulls where a value is required', async () => {
    const t = await seedTenant(db);
    const ep = (
      await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
        url: TARGET,
        eventTypes: ['order.paid'],
      })
    ).body;
    const path = `/v1/tenants/${t.id}/endpoints/${ep.id}`;
    assertInvalid(
      await tern.api.patch(path, { url: 'http://169.254.169.254/' }),
      'url',
      /cloud metadata/,
    );
    assertInvalid(await tern.api.patch(path, { url: 'gopher://x/' }), 'url');
    assertInvalid(await tern.api.patch(path, { eventTypes: ['nope.never'] }), 'eventTypes[0]');
    assertInvalid(
      await tern.api.patch(path, { headers: { Connection: 'close' } }),
      'headers.Connection',
    );
    assertInvalid(await tern.api.patch(path, { url: null }), 'url');
    assertInvalid(await tern.api.patch(path, { eventTypes: null }), 'eventTypes');
    assertInvalid(await tern.api.patch(path, { enabled: null }), 'enabled');
    assertInvalid(await tern.api.patch(path, { headers: null }), 'headers');
    assertInvalid(await tern.api.patch(path, { secret: 'whsec_x' }), 'secret', /not a known field/);
    const unchanged = await tern.api.get(path);
    assert.equal(unchanged.body.url, ep.url);
    assert.deepEqual(unchanged.body.eventTypes, ['order.paid']);
  });

  test('a subscription to a type archived since may stay; a new one may not', async () => {
    const t = await seedTenant(db);
    const { path, name } = await endpointOnArchivedType(t.id);
    const kept = await tern.api.patch(path, { eventTypes: [name, 'order.paid'] });
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    const other = await seedTenant(db);
    assertInvalid(
      await tern.api.post(`/v1/tenants/${other.id}/endpoints`, { url: TARGET, eventTypes: [name] }),
      'eventTypes[0]',
      /archived/,
    );
  });

  test('enabled:false pauses deliveries; enabled:true clears the reason, the failure count and resumes them', async () => {
    const t = await seedTenant(db);
    const ep = (
      await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
        url: TARGET,
        eventTypes: ['order.paid'],
      })
    ).body;
    const path = `/v1/tenants/${t.id}/endpoints/${ep.id}`;
    const delivery = await seedDelivery(t.id, ep.id);

    const off = await tern.api.patch(path, { enabled: false });
    assert.equal(off.status, 200);
    assert.equal(off.body.enabled, false);
    assert.equal(off.body.disabledReason, 'disabled by API');
    assert.equal(await deliveryStatus(delivery), 'paused');

    // disabling again keeps the reason
    assert.equal(
      (await tern.api.patch(path, { enabled: false })).body.disabledReason,
      'disabled by API',
    );

    await db.query(`UPDATE endpoints SET consecutive_failures = 7 WHERE id = $1`, [ep.id]);
    const on = await tern.api.patch(path, { enabled: true });
    assert.equal(on.status, 200);
    assert.equal(on.body.enabled, true);
    assert.equal(on.body.disabledReason, null);
    assert.notEqual(await deliveryStatus(delivery), 'paused');
    const row = await db.query(`SELECT consecutive_failures FROM endpoints WHERE id = $1`, [ep.id]);
    assert.equal(row.rows[0].consecutive_failures, 0);
  });

  test('?enabled= filters the list', async () => {
    const t = await seedTenant(db);
    const make = async (enabled: boolean) =>
      (
        await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
          url: TARGET,
          eventTypes: ['order.paid'],
          enabled,
        })
      ).body.id;
    const on = await make(true);
    const off = await make(false);
    const ids = async (q: string) =>
      (await tern.api.get(`/v1/tenants/${t.id}/endpoints${q}`)).body.data.map(
        (e: { id: string }) => e.id,
      );
    assert.deepEqual(await ids('?enabled=true'), [on]);
    assert.deepEqual(await ids('?enabled=false'), [off]);
    assert.deepEqual(await ids(''), [off, on]);
    assertInvalid(await tern.api.get(`/v1/tenants/${t.id}/endpoints?enabled=maybe`), 'enabled');
  });
});

describe('delete', () => {
  test('soft delete: 204, then 404 everywhere, gone from the list, deliveries cancelled', async () => {
    const t = await seedTenant(db);
    const ep = (
      await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
        url: TARGET,
        eventTypes: ['order.paid'],
      })
    ).body;
    const path = `/v1/tenants/${t.id}/endpoints/${ep.id}`;
    const delivery = await seedDelivery(t.id, ep.id);
    const res = await tern.api.delete(path);
    assert.equal(res.status, 204);
    assert.equal(res.body, null);
    assert.equal((await tern.api.get(path)).status, 404);
    assert.equal((await tern.api.patch(path, { description: 'x' })).status, 404);
    assert.equal((await tern.api.delete(path)).status, 404);
    assert.equal((await tern.api.post(`${path}/rotate-secret`, {})).status, 404);
    assert.deepEqual((await tern.api.get(`/v1/tenants/${t.id}/endpoints`)).body.data, []);
    assert.equal(await deliveryStatus(delivery), 'cancelled');
    const row = await db.query(`SELECT deleted_at FROM endpoints WHERE id = $1`, [ep.id]);
    assert.ok(row.rows[0].deleted_at instanceof Date);
    const subs = await db.query(`SELECT 1 FROM endpoint_subscriptions WHERE endpoint_id = $1`, [
      ep.id,
    ]);
    assert.equal(subs.rowCount, 0);
  });
});

describe('rotate-secret', () => {
  test('a new secret; the old one is kept as previous for 24 h; GET still hides both', async () => {
    const t = await seedTenant(db);
    const ep = (
      await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
        url: TARGET,
        eventTypes: ['order.paid'],
      })
    ).body;
    const path = `/v1/tenants/${t.id}/endpoints/${ep.id}`;
    const res = await tern.api.post(`${path}/rotate-secret`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body), ['secret']);
    assert.match(res.body.secret, /^whsec_/);
    assert.notEqual(res.body.secret, ep.secret);

    const row = (
      await db.query(
        `SELECT secret, previous_secret,
                extract(epoch FROM previous_secret_expires_at - now()) AS left_s
           FROM endpoints WHERE id = $1`,
        [ep.id],
      )
    ).rows[0];
    assert.equal(row.secret, res.body.secret);
    assert.equal(row.previous_secret, ep.secret);
    assert.ok(Math.abs(Number(row.left_s) - 24 * 3600) < 60, `expires in ${row.left_s}s`);

    const got = await tern.api.get(path);
    assert.equal(got.body.secret, undefined);
    assert.ok(!JSON.stringify(got.body).includes('whsec_'));
    // That both secrets sign during the 24 h is checked end to end in delivery.test.ts.
  });

  test('a supplied secret; rotating again makes the last one previous', async () => {
    const t = await seedTenant(db);
    const ep = (
      await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
        url: TARGET,
        eventTypes: ['order.paid'],
      })
    ).body;
    const path = `/v1/tenants/${t.id}/endpoints/${ep.id}/rotate-secret`;
    const mine = 'whsec_' + randomBytes(32).toString('base64');
    const first = await tern.api.post(path, { secret: mine });
    assert.equal(first.status, 200);
    assert.equal(first.body.secret, mine);
    assertInvalid(await tern.api.post(path, { secret: mine }), 'secret', /differ/);
    assertInvalid(await tern.api.post(path, { secret: 'whsec_short' }), 'secret');
    const second = await tern.api.post(path, {});
    const row = (
      await db.query(`SELECT secret, previous_secret FROM endpoints WHERE id = $1`, [ep.id])
    ).rows[0];
    assert.deepEqual(row, { secret: second.body.secret, previous_secret: mine });
  });
});

describe('tenant isolation', () => {
  test("another tenant's endpoint answers 404, whichever way it is reached", async () => {
    const a = await seedTenant(db);
    const b = await seedTenant(db);
    const epB = (
      await tern.api.post(`/v1/tenants/${b.id}/endpoints`, {
        url: TARGET,
        eventTypes: ['order.paid'],
      })
    ).body;
    // tenant A's key, B's endpoint under A's path and under B's path
    for (const path of [
      `/v1/tenants/${a.id}/endpoints/${epB.id}`,
      `/v1/tenants/${b.id}/endpoints/${epB.id}`,
    ]) {
      assert.equal((await a.key.get(path)).status, 404, path);
      assert.equal((await a.key.patch(path, { description: 'x' })).status, 404, path);
      assert.equal((await a.key.delete(path)).status, 404, path);
      assert.equal((await a.key.post(`${path}/rotate-secret`, {})).status, 404, path);
    }
    assert.equal((await a.key.get(`/v1/tenants/${b.id}/endpoints`)).status, 404);
    assert.equal(
      (
        await a.key.post(`/v1/tenants/${b.id}/endpoints`, {
          url: TARGET,
          eventTypes: ['order.paid'],
        })
      ).status,
      404,
    );
    assert.deepEqual((await a.key.get(`/v1/tenants/${a.id}/endpoints`)).body.data, []);
    // the admin key, but the wrong tenant in the path
    assert.equal((await tern.api.get(`/v1/tenants/${a.id}/endpoints/${epB.id}`)).status, 404);
    assert.equal((await tern.api.get(`/v1/tenants/no-such-tenant/endpoints`)).status, 404);
    // B's endpoint is untouched
    const still = await b.key.get(`/v1/tenants/${b.id}/endpoints/${epB.id}`);
    assert.equal(still.status, 200);
    assert.equal(still.body.description, null);
  });
});

describe('pagination', () => {
  test('cursor pages, newest first, no overlap, nextCursor null at the end', async () => {
    const t = await seedTenant(db);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
            url: TARGET,
            eventTypes: ['order.paid'],
          })
        ).body.id,
      );
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
      const page = await tern.api.get(`/v1/tenants/${t.id}/endpoints${q}`);
      assert.equal(page.status, 200);
      sizes.push(page.body.data.length);
      seen.push(...page.body.data.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(seen, [...ids].reverse());
    const all = await tern.api.get(`/v1/tenants/${t.id}/endpoints?limit=5`);
    assert.equal(all.body.nextCursor, null);
    assertInvalid(await tern.api.get(`/v1/tenants/${t.id}/endpoints?cursor=garbage`), 'cursor');
    assertInvalid(await tern.api.get(`/v1/tenants/${t.id}/endpoints?limit=0`), 'limit');
    assertInvalid(await tern.api.get(`/v1/tenants/${t.id}/endpoints?limit=251`), 'limit');
  });
});

describe('subscriptions at ingestion', () => {
  test('fan-out at ingestion: one delivery per matching endpoint; wildcards never reach reserved types', async () => {
    const t = await seedTenant(db);
    await seedTypes(db, ['order.paid.eu']);
    const make = async (eventTypes: string[], enabled = true) =>
      (await tern.api.post(`/v1/tenants/${t.id}/endpoints`, { url: TARGET, eventTypes, enabled }))
        .body.id as string;
    const all = await make(['*']);
    const orders = await make(['order.*', 'order.paid']);
    const exact = await make(['order.paid.eu'], false);
    const deep = await make(['order.paid.*']);
    const invoices = await make(['invoice.*']);
    const alerts = await make(['tern.delivery.failed']);
    const gone = await make(['*']);
    await tern.api.delete(`/v1/tenants/${t.id}/endpoints/${gone}`);
    const other = await seedTenant(db);
    await tern.api.post(`/v1/tenants/${other.id}/endpoints`, { url: TARGET, eventTypes: ['*'] });

    // What recordEvents would write for one event of `type`, rolled back: nothing is stored or sent.
    const events = tern.app.get(EventsService);
    const of = async (type: string) => {
      let got: { id: string; enabled: boolean }[] = [];
      await tern.app
        .get(DataSource)
        .transaction(async (m) => {
          const { accepted } = await events.recordEvents(m, t.id, [{ type, data: {} }]);
          got = accepted[0].deliveries.map((d) => ({
            id: d.endpointId,
            enabled: d.status === 'pending',
          }));
          throw new Error('roll back');
        })
        .catch((e) => assert.equal(e.message, 'roll back'));
      return got;
    };
    const sorted = (xs: { id: string; enabled: boolean }[]) =>
      [...xs].sort((x, y) => x.id.localeCompare(y.id));
    assert.deepEqual(
      await of('order.paid.eu'),
      sorted([
        { id: all, enabled: true },
        { id: orders, enabled: true },
        { id: exact, enabled: false },
        { id: deep, enabled: true },
      ]),
    );
    assert.deepEqual(
      await of('order.paid'),
      sorted([
        { id: all, enabled: true },
        { id: orders, enabled: true },
      ]),
    );
    assert.deepEqual(
      await of('invoice.created'),
      sorted([
        { id: all, enabled: true },
        { id: invoices, enabled: true },
      ]),
    );
    assert.deepEqual(await of('tern.delivery.failed'), [{ id: alerts, enabled: true }]);
    assert.deepEqual(await of('webhook.test'), []);
  });
});

describe('EndpointsService for other modules', () => {
  test('disableEndpoint: disables once with the reason and pauses pending deliveries', async () => {
    const t = await seedTenant(db);
    const ep = (
      await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
        url: TARGET,
        eventTypes: ['order.paid'],
      })
    ).body;
    const delivery = await seedDelivery(t.id, ep.id);
    const service = tern.app.get(EndpointsService);
    const ds = tern.app.get(DataSource);
    assert.equal(
      await ds.transaction((m) =>
        service.disableEndpoint(m, ep.id, '10 deliveries in a row failed'),
      ),
      true,
    );
    assert.equal(await ds.transaction((m) => service.disableEndpoint(m, ep.id, 'again')), false);
    const got = (await tern.api.get(`/v1/tenants/${t.id}/endpoints/${ep.id}`)).body;
    assert.equal(got.enabled, false);
    assert.equal(got.disabledReason, '10 deliveries in a row failed');
    assert.equal(await deliveryStatus(delivery), 'paused');
    assert.equal(await service.disableEndpoint(ds.manager, 'ep_missing', 'x'), false);
  });

  test('getForTenant, and the failure counters', async () => {
    const t = await seedTenant(db);
    const ep = (
      await tern.api.post(`/v1/tenants/${t.id}/endpoints`, {
        url: TARGET,
        eventTypes: ['order.paid'],
      })
    ).body;
    const service = tern.app.get(EndpointsService);
    const manager = tern.app.get(DataSource).manager;
    const { secret: _s, ...shown } = ep;
    assert.deepEqual(await service.getForTenant(t.id, ep.id), shown);
    await assert.rejects(service.getForTenant('someone-else', ep.id), { code: 'not_found' });
    assert.equal(await service.recordDeliveryExhausted(manager, ep.id), 1);
    assert.equal(await service.recordDeliveryExhausted(manager, ep.id), 2);
    // The reset on success is part of recording attempts: see delivery.test.ts.
  });
});
