// The event type catalog over HTTP: create, bulk import, read, edit, archive; reserved types; who may write;
// and the CatalogService methods other modules call.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, createTenant, RunningTern, startTern, uniq, fieldsOf } from '../support/harness';
import { Client } from 'pg';
import { ACTIVE_TTL_MS, CatalogService } from '../../src/catalog/catalog.service';

const RESERVED = ['tern.delivery.failed', 'tern.endpoint.disabled', 'webhook.test'];
const ORDER_SCHEMA = {
  type: 'object',
  required: ['orderId'],
  properties: { orderId: { type: 'string' }, total: { type: 'number', minimum: 0 } },
};

async function allPages(api: Api, query: string, limit = 250): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = query ? '&' : '';
    const res: any = await api.get(
      `/v1/event-types?${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    out.push(...res.body.data);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

describe('event type catalog', () => {
  let t: RunningTern;
  let admin: Api;
  let tenantApi: Api;
  let catalog: CatalogService;

  before(async () => {
    t = await startTern();
    admin = t.api;
    tenantApi = admin.as((await createTenant(admin)).apiKey);
    catalog = t.app.get(CatalogService);
  });
  after(async () => t?.close());

  test('the reserved types are always there', async () => {
    const list = await allPages(admin, '');
    for (const name of RESERVED) {
      const item = list.find((x) => x.name === name);
      assert.ok(item, name);
      assert.equal(item.reserved, true);
      assert.equal(item.category, 'tern');
      assert.equal(item.archived, false);
    }
  });

  test('creates a type and answers the full shape', async () => {
    const name = uniq('order.completed_');
    const res = await admin.post('/v1/event-types', {
      name,
      category: 'orders',
      description: 'An order was paid.',
      schema: ORDER_SCHEMA,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), [
      'archived',
      'archivedAt',
      'category',
      'createdAt',
      'description',
      'name',
      'reserved',
      'schema',
      'updatedAt',
    ]);
    assert.equal(res.body.name, name);
    assert.equal(res.body.category, 'orders');
    assert.equal(res.body.description, 'An order was paid.');
    assert.deepEqual(res.body.schema, ORDER_SCHEMA);
    assert.equal(res.body.reserved, false);
    assert.equal(res.body.archived, false);
    assert.equal(res.body.archivedAt, null);
    const got = await admin.get(`/v1/event-types/${name}`);
    assert.deepEqual(got.body, res.body);

    const bare = await admin.post('/v1/event-types', { name: uniq('bare') });
    assert.equal(bare.status, 201);
    assert.equal(bare.body.category, null);
    assert.equal(bare.body.description, null);
    assert.equal(bare.body.schema, null);
  });

  test('an existing name is a 409', async () => {
    const name = uniq('dup.type');
    assert.equal((await admin.post('/v1/event-types', { name })).status, 201);
    const again = await admin.post('/v1/event-types', { name, category: 'x' });
    assert.equal(again.status, 409);
    assert.equal((await admin.get(`/v1/event-types/${name}`)).body.category, null);
  });

  test('names are checked: shape, length, wildcards and reserved names (400 naming `name`)', async () => {
    const bad = [
      '',
      'order..completed',
      '.order',
      'order.',
      'order.*',
      '*',
      'order completed',
      'ordér.completed',
      'a/b',
      'x'.repeat(129),
      'tern.custom',
      'Tern.custom',
      'webhook.test',
      'tern.delivery.failed',
      42,
      null,
    ];
    for (const name of bad) {
      const res = await admin.post('/v1/event-types', { name });
      assert.equal(res.status, 400, `${JSON.stringify(name)} -> ${res.status}`);
      assert.ok(fieldsOf(res.body).includes('name'), JSON.stringify(res.body));
    }
    const missing = await admin.post('/v1/event-types', { category: 'x' });
    assert.equal(missing.status, 400);
    assert.deepEqual(fieldsOf(missing.body), ['name']);
    const good = await admin.post('/v1/event-types', { name: uniq('A-b_c.').padEnd(128, 'x') });
    assert.equal(good.status, 201, JSON.stringify(good.body));
    // webhook.testing is not webhook.test
    const near = await admin.post('/v1/event-types', { name: uniq('webhook.testing') });
    assert.equal(near.status, 201);
  });

  test('other fields are checked too, and unknown fields are refused', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ category: 5 }, 'category'],
      [{ category: '' }, 'category'],
      [{ category: 'c'.repeat(129) }, 'category'],
      [{ description: 5 }, 'description'],
      [{ description: 'd'.repeat(4097) }, 'description'],
      [{ reserved: true }, 'reserved'],
      [{ archived: false }, 'archived'],
      [{ extra: 1 }, 'extra'],
      [{ schema: 'string' }, 'schema'],
      [{ schema: [1] }, 'schema'],
      [{ schema: { type: 'strnig' } }, 'schema'],
      [{ schema: { properties: 5 } }, 'schema'],
      [{ schema: { minLength: -1 } }, 'schema'],
      [{ schema: { $ref: 'https://example.com/remote.json' } }, 'schema'],
      [{ schema: { $schema: 'https://example.com/unknown-dialect' } }, 'schema'],
    ];
    for (const [extra, field] of cases) {
      const res = await admin.post('/v1/event-types', { name: uniq('checked'), ...extra });
      assert.equal(res.status, 400, `${JSON.stringify(extra).slice(0, 60)} -> ${res.status}`);
      assert.ok(fieldsOf(res.body).includes(field), JSON.stringify(res.body));
    }
    const schemaErr = await admin.post('/v1/event-types', {
      name: uniq('s'),
      schema: { type: 'strnig' },
    });
    assert.match(schemaErr.body.details[0].message, /JSON Schema/);
    // A schema property named `constructor` would be dropped by the framework (and stop being
    // checked) or fail it (PUT): refused, named, in both routes.
    const ctor = '{"type":"object","properties":{"constructor":{"type":"string"}}}';
    const one = await admin.request(
      'POST',
      '/v1/event-types',
      `{"name":"${uniq('ctor')}","schema":${ctor}}`,
      {},
    );
    assert.equal(one.status, 400);
    assert.equal(one.body.details[0].field, 'schema.properties.constructor');
    const bulk = await admin.request(
      'PUT',
      '/v1/event-types',
      `[{"name":"${uniq('ctor')}"},{"name":"${uniq('ctor')}","schema":${ctor}}]`,
      {},
    );
    assert.equal(bulk.status, 400);
    assert.equal(bulk.body.details[0].field, '[1].schema.properties.constructor');
  });

  test('schemas in the 2019-09 and 2020-12 dialects are accepted', async () => {
    for (const $schema of [
      'https://json-schema.org/draft/2020-12/schema',
      'https://json-schema.org/draft/2019-09/schema',
      'http://json-schema.org/draft-07/schema#',
    ]) {
      const res = await admin.post('/v1/event-types', {
        name: uniq('dialect'),
        schema: {
          $schema,
          type: 'object',
          properties: { at: { type: 'string', format: 'date-time' } },
        },
      });
      assert.equal(res.status, 201, `${$schema}: ${JSON.stringify(res.body)}`);
    }
  });

  test('PATCH edits category, description and schema; null clears; the name stays', async () => {
    const name = uniq('patch.me');
    const created = (
      await admin.post('/v1/event-types', {
        name,
        category: 'a',
        description: 'd',
        schema: ORDER_SCHEMA,
      })
    ).body;
    const res = await admin.patch(`/v1/event-types/${name}`, { category: 'b' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.category, 'b');
    assert.equal(res.body.description, 'd');
    assert.deepEqual(res.body.schema, ORDER_SCHEMA);
    assert.equal(res.body.createdAt, created.createdAt);
    assert.ok(Date.parse(res.body.updatedAt) >= Date.parse(created.updatedAt));

    const cleared = await admin.patch(`/v1/event-types/${name}`, {
      description: null,
      schema: null,
      category: null,
    });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.description, null);
    assert.equal(cleared.body.schema, null);
    assert.equal(cleared.body.category, null);

    for (const [body, field] of [
      [{ name: 'renamed' }, 'name'],
      [{ schema: { type: 'nope' } }, 'schema'],
      [{ category: 3 }, 'category'],
      [{ reserved: true }, 'reserved'],
    ] as [unknown, string][]) {
      const bad = await admin.patch(`/v1/event-types/${name}`, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.ok(fieldsOf(bad.body).includes(field), JSON.stringify(bad.body));
    }
    assert.equal(
      (await admin.patch('/v1/event-types/no.such.type', { category: 'x' })).status,
      404,
    );
  });

  test('reserved types cannot be edited or archived (409)', async () => {
    for (const name of RESERVED) {
      const p = await admin.patch(`/v1/event-types/${name}`, { description: 'mine' });
      assert.equal(p.status, 409, name);
      const d = await admin.delete(`/v1/event-types/${name}`);
      assert.equal(d.status, 409, name);
      const got = (await admin.get(`/v1/event-types/${name}`)).body;
      assert.equal(got.archived, false);
      assert.notEqual(got.description, 'mine');
    }
  });

  test('DELETE archives: hidden from the list by default, still readable, and re-creatable', async () => {
    const name = uniq('archive.me');
    await admin.post('/v1/event-types', { name, category: 'arch', schema: ORDER_SCHEMA });
    const del = await admin.delete(`/v1/event-types/${name}`);
    assert.equal(del.status, 204);
    const got = await admin.get(`/v1/event-types/${name}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.archived, true);
    assert.ok(!Number.isNaN(Date.parse(got.body.archivedAt)));

    assert.ok(!(await allPages(admin, 'category=arch')).some((x) => x.name === name));
    const withArchived = await allPages(admin, 'category=arch&includeArchived=true');
    assert.ok(withArchived.some((x) => x.name === name && x.archived));
    assert.ok(!(await allPages(admin, 'includeArchived=false')).some((x) => x.name === name));
    // Empty parameters mean "not given".
    const blank = await allPages(admin, 'category=&includeArchived=');
    assert.ok(blank.some((x) => x.name === 'webhook.test'));
    assert.ok(!blank.some((x) => x.name === name));

    // Archiving again changes nothing.
    assert.equal((await admin.delete(`/v1/event-types/${name}`)).status, 204);
    assert.equal((await admin.get(`/v1/event-types/${name}`)).body.archivedAt, got.body.archivedAt);
    assert.equal((await admin.delete('/v1/event-types/no.such.type')).status, 404);

    // POST with the same name brings it back with the new fields.
    const back = await admin.post('/v1/event-types', { name, description: 'back' });
    assert.equal(back.status, 201, JSON.stringify(back.body));
    assert.equal(back.body.archived, false);
    assert.equal(back.body.archivedAt, null);
    assert.equal(back.body.description, 'back');
    assert.equal(back.body.category, null);
    assert.equal(back.body.schema, null);
    assert.equal(back.body.createdAt, got.body.createdAt);
  });

  test('bulk PUT upserts by name, in order, all in one go', async () => {
    const existing = uniq('bulk.existing');
    await admin.post('/v1/event-types', { name: existing, category: 'old', description: 'old' });
    const archived = uniq('bulk.archived');
    await admin.post('/v1/event-types', { name: archived });
    await admin.delete(`/v1/event-types/${archived}`);
    const fresh = uniq('bulk.fresh');
    const res = await admin.put('/v1/event-types', [
      { name: fresh, category: 'bulk', schema: ORDER_SCHEMA },
      { name: existing, category: 'bulk' },
      { name: archived, category: 'bulk', description: 'revived' },
    ]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.data.map((x: any) => x.name),
      [fresh, existing, archived],
    );
    assert.deepEqual(res.body.data[0].schema, ORDER_SCHEMA);
    assert.equal(res.body.data[1].category, 'bulk');
    assert.equal(res.body.data[1].description, null, 'PUT replaces: omitted fields become null');
    assert.equal(res.body.data[2].archived, false);
    assert.equal(res.body.data[2].description, 'revived');
    assert.deepEqual(Object.keys(res.body), ['data']);

    const empty = await admin.put('/v1/event-types', []);
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, { data: [] });
  });

  test('bulk PUT is all or nothing and names the failing item', async () => {
    const names = [uniq('atomic.a'), uniq('atomic.b'), uniq('atomic.c'), uniq('atomic.d')];
    const cases: [unknown[], string][] = [
      [
        [{ name: names[0] }, { name: names[1] }, { name: names[2] }, { name: 'bad..name' }],
        '[3].name',
      ],
      [[{ name: names[0] }, { name: names[1], color: 'red' }], '[1].color'],
      [[{ name: names[0] }, {}], '[1].name'],
      [[{ name: names[0] }, { name: names[1], schema: { type: 'nope' } }], '[1].schema'],
      [[{ name: names[0] }, { name: 'webhook.test' }], '[1].name'],
      [[{ name: names[0] }, { name: 'tern.mine' }], '[1].name'],
      [[{ name: names[0] }, { name: names[0] }], '[1].name'],
      [[{ name: names[0] }, 'text'], '[1]'],
      [[{ name: names[0] }, null], '[1]'],
    ];
    for (const [body, field] of cases) {
      const res = await admin.put('/v1/event-types', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.ok(fieldsOf(res.body).includes(field), `${field}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.message, new RegExp(field.replace(/[[\]]/g, '\\$&')));
    }
    for (const name of names)
      assert.equal((await admin.get(`/v1/event-types/${name}`)).status, 404);

    for (const body of [{ name: names[0] }, 'text', 5]) {
      const res = await admin.put('/v1/event-types', body);
      assert.equal(res.status, 400);
      assert.deepEqual(fieldsOf(res.body), ['body']);
    }
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ name: `many.t${i}` }));
    assert.equal((await admin.put('/v1/event-types', tooMany)).status, 400);
  });

  test('bulk PUT rolls back what it wrote when a later item fails in the database', async () => {
    // A reserved row the name rules do not know about: only the transaction can refuse it.
    const locked = uniq('locked.by.tern');
    const db = new Client({ connectionString: t.databaseUrl });
    await db.connect();
    try {
      await db.query(`INSERT INTO event_types (name, reserved) VALUES ($1, true)`, [locked]);
    } finally {
      await db.end();
    }
    const existing = uniq('rollback.existing');
    await admin.post('/v1/event-types', { name: existing, description: 'kept' });
    const fresh = uniq('rollback.fresh');
    const res = await admin.put('/v1/event-types', [
      { name: fresh },
      { name: existing, description: 'overwritten' },
      { name: locked, description: 'mine' },
    ]);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(fieldsOf(res.body), ['[2].name']);
    assert.equal((await admin.get(`/v1/event-types/${fresh}`)).status, 404);
    assert.equal((await admin.get(`/v1/event-types/${existing}`)).body.description, 'kept');
    assert.equal((await admin.get(`/v1/event-types/${locked}`)).body.description, null);
  });

  test('lists newest first across pages, stable when types are added between fetches', async () => {
    const category = uniq('paging');
    // One bulk import: every row shares created_at, so the name breaks the tie.
    const first = Array.from({ length: 5 }, (_, i) => ({ name: uniq(`p${i}.`), category }));
    await admin.put('/v1/event-types', first);
    const later: string[] = [];
    for (let i = 0; i < 3; i++) {
      const name = uniq(`q${i}.`);
      await admin.post('/v1/event-types', { name, category });
      later.push(name);
    }
    const expected = [
      ...later.reverse(),
      ...first
        .map((x) => x.name)
        .sort()
        .reverse(),
    ];

    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await tenantApi.get(`/v1/event-types?category=${category}&limit=2${q}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.data.length <= 2);
      seen.push(...res.body.data.map((x: any) => x.name));
      cursor = res.body.nextCursor;
      if (page++ === 1) await admin.post('/v1/event-types', { name: uniq('late.'), category });
    } while (cursor);
    assert.deepEqual(seen, expected);
    assert.equal(page, 4);
  });

  test('list parameters are validated', async () => {
    for (const [q, field] of [
      ['includeArchived=maybe', 'includeArchived'],
      ['limit=0', 'limit'],
      ['cursor=xyz', 'cursor'],
      ['color=red', 'color'],
    ]) {
      const res = await admin.get(`/v1/event-types?${q}`);
      assert.equal(res.status, 400, q);
      assert.ok(fieldsOf(res.body).includes(field), `${q}: ${JSON.stringify(res.body)}`);
    }
  });

  test('tenant keys read the catalog but cannot write it (404); no key is 401', async () => {
    const name = uniq('readable');
    await admin.post('/v1/event-types', { name });
    assert.equal((await tenantApi.get('/v1/event-types')).status, 200);
    assert.equal((await tenantApi.get(`/v1/event-types/${name}`)).status, 200);
    for (const [method, path, body] of [
      ['POST', '/v1/event-types', { name: uniq('by.tenant') }],
      ['PUT', '/v1/event-types', [{ name: uniq('by.tenant') }]],
      ['PATCH', `/v1/event-types/${name}`, { description: 'tenant was here' }],
      ['DELETE', `/v1/event-types/${name}`, undefined],
    ] as [string, string, unknown][]) {
      const res = await tenantApi.request(method, path, body);
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    const after = (await admin.get(`/v1/event-types/${name}`)).body;
    assert.equal(after.archived, false);
    assert.equal(after.description, null);
    assert.equal((await admin.as(null).get('/v1/event-types')).status, 401);
    assert.equal((await admin.as('nope').get(`/v1/event-types/${name}`)).status, 401);
    assert.equal((await admin.as(null).post('/v1/event-types', { name: 'x' })).status, 401);
  });

  test('CatalogService: active types, validators that follow edits, and name checks', async () => {
    const name = uniq('svc.order');
    await admin.post('/v1/event-types', { name, schema: ORDER_SCHEMA });
    const noSchema = uniq('svc.plain');
    await admin.post('/v1/event-types', { name: noSchema });

    assert.deepEqual(await catalog.getActiveType(name), {
      name,
      schema: ORDER_SCHEMA,
      reserved: false,
    });
    assert.deepEqual(await catalog.getActiveType('webhook.test'), {
      name: 'webhook.test',
      schema: null,
      reserved: true,
    });
    assert.equal(await catalog.getActiveType('no.such.type'), null);

    const v1 = await catalog.validator(name);
    assert.ok(v1);
    assert.equal(v1({ orderId: 'o1', total: 3 }), true);
    assert.equal(v1({ total: -1 }), false);
    assert.ok(v1.errors && v1.errors.length >= 2, 'allErrors');
    assert.equal(await catalog.validator(name), v1, 'cached');
    assert.equal(await catalog.validator(noSchema), null);
    assert.equal(await catalog.validator('no.such.type'), null);

    await admin.patch(`/v1/event-types/${name}`, {
      schema: { type: 'object', required: ['sku'] },
    });
    const v2 = await catalog.validator(name);
    assert.ok(v2 && v2 !== v1);
    assert.equal(v2({ orderId: 'o1' }), false);
    assert.equal(v2({ sku: 'x' }), true);

    const many = await catalog.activeTypes([name, noSchema, 'nope', name]);
    assert.deepEqual([...many.keys()].sort(), [name, noSchema].sort());
    assert.equal(many.get(name)!.validate, v2);

    assert.deepEqual(
      await catalog.existingActiveNames([name, noSchema, 'nope', 'webhook.test']),
      new Set([name, noSchema, 'webhook.test']),
    );
    assert.deepEqual(await catalog.existingActiveNames([]), new Set());

    await admin.delete(`/v1/event-types/${name}`);
    assert.equal(await catalog.getActiveType(name), null);
    assert.equal(await catalog.validator(name), null);
    assert.deepEqual(await catalog.existingActiveNames([name]), new Set());
  });

  test('CatalogService: requests that miss the cache at once share one query, and a write while it runs is not undone', async () => {
    const name = uniq('shared.') + '.x';
    assert.equal((await admin.post('/v1/event-types', { name, category: 'shared' })).status, 201);
    // Counts the catalog's queries; Postgres still answers every one.
    const types = (catalog as any).types;
    const query = types.query.bind(types);
    let queries = 0;
    types.query = (...args: unknown[]) => {
      queries++;
      return query(...args);
    };
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => catalog.activeTypes([name, 'no.such.type'])),
      );
      assert.equal(queries, 1, 'one query for twenty concurrent misses');
      for (const a of answers) assert.deepEqual([...a.keys()], [name]);
      assert.equal((await catalog.activeTypes([name])).get(name)?.name, name, 'then cached');
      assert.equal(queries, 1);

      // Archived through this process after a load read the row and before it answered: the
      // load's caller gets what it read, but that answer is not kept for later requests.
      await new Promise((r) => setTimeout(r, ACTIVE_TTL_MS + 50));
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let read!: () => void;
      const hasRead = new Promise<void>((r) => (read = r));
      types.query = async (...args: unknown[]) => {
        const rows = await query(...args);
        read();
        await gate;
        return rows;
      };
      const loading = catalog.activeTypes([name]);
      await hasRead; // the load has read the row (active)
      types.query = query;
      assert.equal((await admin.delete(`/v1/event-types/${name}`)).status, 204);
      open();
      assert.equal((await loading).get(name)?.name, name, 'what the load read');
      assert.equal(await catalog.getActiveType(name), null, 'the archive shows at once');
    } finally {
      types.query = query;
    }
  });

  test('the routes are in the OpenAPI document', async () => {
    const spec = (await admin.get('/docs-json')).body;
    const root = spec.paths['/v1/event-types'];
    assert.ok(root.get && root.post && root.put);
    const one = spec.paths['/v1/event-types/{name}'];
    assert.ok(one.get && one.patch && one.delete);
  });
});
