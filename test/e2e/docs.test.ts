// The OpenAPI document covers the whole contract: every route of its tables, bearer security on
// every keyed route, a schema for every request body and answer, the error body on every error.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RunningTern, startTern } from '../support/harness';

/** The route tables of /work/shared/api-contract.md, transcribed. `body`: the route takes JSON. */
interface ContractRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: true;
  public?: true;
}

const CONTRACT: ContractRoute[] = [
  // Operator (admin key)
  { method: 'POST', path: '/v1/tenants', body: true },
  { method: 'GET', path: '/v1/tenants' },
  { method: 'GET', path: '/v1/tenants/{tenantId}' },
  { method: 'PATCH', path: '/v1/tenants/{tenantId}', body: true },
  { method: 'DELETE', path: '/v1/tenants/{tenantId}' },
  { method: 'POST', path: '/v1/tenants/{tenantId}/api-keys' },
  { method: 'DELETE', path: '/v1/tenants/{tenantId}/api-keys/{keyId}' },
  { method: 'POST', path: '/v1/event-types', body: true },
  { method: 'PUT', path: '/v1/event-types', body: true },
  { method: 'PATCH', path: '/v1/event-types/{name}', body: true },
  { method: 'DELETE', path: '/v1/event-types/{name}' },
  { method: 'GET', path: '/v1/deliveries' },
  // Both (admin key, or the tenant's own key)
  { method: 'GET', path: '/v1/event-types' },
  { method: 'GET', path: '/v1/event-types/{name}' },
  { method: 'POST', path: '/v1/tenants/{tenantId}/events', body: true },
  { method: 'POST', path: '/v1/tenants/{tenantId}/events/batch', body: true },
  { method: 'GET', path: '/v1/tenants/{tenantId}/events/{eventId}' },
  { method: 'POST', path: '/v1/tenants/{tenantId}/endpoints', body: true },
  { method: 'GET', path: '/v1/tenants/{tenantId}/endpoints' },
  { method: 'GET', path: '/v1/tenants/{tenantId}/endpoints/{endpointId}' },
  { method: 'PATCH', path: '/v1/tenants/{tenantId}/endpoints/{endpointId}', body: true },
  { method: 'DELETE', path: '/v1/tenants/{tenantId}/endpoints/{endpointId}' },
  { method: 'POST', path: '/v1/tenants/{tenantId}/endpoints/{endpointId}/rotate-secret' },
  { method: 'POST', path: '/v1/tenants/{tenantId}/endpoints/{endpointId}/test' },
  { method: 'POST', path: '/v1/tenants/{tenantId}/endpoints/{endpointId}/recover', body: true },
  { method: 'GET', path: '/v1/tenants/{tenantId}/deliveries' },
  { method: 'GET', path: '/v1/tenants/{tenantId}/deliveries/{deliveryId}' },
  { method: 'POST', path: '/v1/tenants/{tenantId}/deliveries/{deliveryId}/retry' },
  { method: 'GET', path: '/v1/tenants/{tenantId}/alerts' },
  // Service routes, no key (/docs and /docs-json serve this document and are checked apart)
  { method: 'GET', path: '/health', public: true },
  { method: 'GET', path: '/health/ready', public: true },
  { method: 'GET', path: '/metrics', public: true },
];

/** Routes Tern has beyond the contract's tables (documented too, but not promised there). */
const EXTRAS = ['GET /v1/tenants/{tenantId}/api-keys', 'GET /v1/deliveries/{deliveryId}'];

let t: RunningTern;
let spec: any;

before(async () => {
  t = await startTern({ TERN_ROLE: 'api' });
  const res = await fetch(`${t.url}/docs-json`);
  assert.equal(res.status, 200, 'the spec needs no key');
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  spec = await res.json();
});

after(async () => {
  await t?.close();
});

const op = (r: { method: string; path: string }) => spec.paths[r.path]?.[r.method.toLowerCase()];
const name = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

/** Every `$ref` inside a value. */
function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) =>
      k === '$ref' && typeof v === 'string' ? [v] : refs(v),
    );
  }
  return [];
}

test('the document is OpenAPI 3 with an http bearer scheme', () => {
  assert.match(spec.openapi, /^3\./);
  assert.equal(spec.info.title, 'Tern');
  const bearer = spec.components.securitySchemes.bearer;
  assert.equal(bearer.type, 'http');
  assert.equal(bearer.scheme, 'bearer');
  assert.notEqual(bearer.bearerFormat, 'JWT', 'keys are opaque, not JWTs');
});

test('every route of the contract is documented, and nothing undeclared besides', () => {
  const missing = CONTRACT.filter((r) => !op(r)).map(name);
  assert.deepEqual(missing, [], 'routes missing from /docs-json');
  const documented = Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`),
  );
  const known = new Set([...CONTRACT.map(name), ...EXTRAS]);
  assert.deepEqual(
    documented.filter((d) => !known.has(d)),
    [],
    'documented routes the contract does not know (add them to EXTRAS if intended)',
  );
  for (const extra of EXTRAS) assert.ok(documented.includes(extra), `${extra} is documented`);
});

test('keyed routes declare bearer security, 401 and 429; service routes need no key', () => {
  for (const r of [
    ...CONTRACT,
    ...EXTRAS.map((e) => ({ method: e.split(' ')[0], path: e.split(' ')[1] })),
  ]) {
    const o = op(r);
    if ((r as ContractRoute).public) {
      assert.ok(!o.security || o.security.length === 0, `${name(r)} must be public`);
      continue;
    }
    assert.ok(
      Array.isArray(o.security) && o.security.some((s: object) => 'bearer' in s),
      `${name(r)} declares bearer security`,
    );
    for (const status of ['401', '429'])
      assert.ok(o.responses[status], `${name(r)} documents ${status}`);
  }
});

test('every route has a tag, a summary and a typed success answer', () => {
  for (const r of CONTRACT) {
    const o = op(r);
    assert.ok(o.tags?.length > 0, `${name(r)} has a tag`);
    assert.ok(o.summary, `${name(r)} has a summary`);
    const success = Object.keys(o.responses).filter((s) => /^2\d\d$/.test(s));
    assert.equal(success.length, 1, `${name(r)} documents one success status`);
    if (success[0] === '204') continue;
    const content = o.responses[success[0]].content;
    assert.ok(content && Object.keys(content).length > 0, `${name(r)} describes its answer`);
    const schema = Object.values(content as Record<string, { schema?: object }>)[0].schema;
    assert.ok(schema, `${name(r)} has a schema for ${success[0]}`);
  }
  // The contract's status codes for creation and acceptance.
  assert.ok(op({ method: 'POST', path: '/v1/tenants' }).responses['201']);
  assert.ok(op({ method: 'POST', path: '/v1/tenants/{tenantId}/endpoints' }).responses['201']);
  assert.ok(op({ method: 'POST', path: '/v1/tenants/{tenantId}/events' }).responses['202']);
  assert.ok(op({ method: 'POST', path: '/v1/tenants/{tenantId}/events/batch' }).responses['202']);
});

test('every POST, PUT and PATCH that takes a body references a schema for it', () => {
  for (const r of CONTRACT.filter((c) => c.body)) {
    const body = op(r).requestBody;
    assert.ok(body, `${name(r)} documents its body`);
    const schema = body.content?.['application/json']?.schema;
    assert.ok(schema, `${name(r)} has a JSON body schema`);
    assert.ok(refs(schema).length > 0, `${name(r)} body references a component schema`);
    for (const s of ['400', '413', '415'])
      assert.ok(op(r).responses[s], `${name(r)} documents ${s} for a bad body`);
  }
  // The endpoint routes check their bodies themselves (checkBody), and still document the DTOs.
  for (const [method, path, dto] of [
    ['POST', '/v1/tenants/{tenantId}/endpoints', 'CreateEndpointDto'],
    ['PATCH', '/v1/tenants/{tenantId}/endpoints/{endpointId}', 'UpdateEndpointDto'],
  ] as const)
    assert.deepEqual(refs(op({ method, path }).requestBody.content['application/json'].schema), [
      `#/components/schemas/${dto}`,
    ]);
  // The bulk import takes an array of event types.
  const put = op({ method: 'PUT', path: '/v1/event-types' }).requestBody.content[
    'application/json'
  ];
  assert.equal(put.schema.type, 'array');
  // Events: the batch limit and the 422 of the catalog.
  const trigger = op({ method: 'POST', path: '/v1/tenants/{tenantId}/events' });
  assert.ok(trigger.responses['422']);
  const header = trigger.parameters.filter((p: any) => p.in === 'header');
  assert.deepEqual(
    header.map((p: any) => [p.name.toLowerCase(), p.required]),
    [['idempotency-key', false]],
    'one optional Idempotency-Key header',
  );
});

test('every error answer is the contract error body (readiness excepted: terminus report)', () => {
  const errorRef = '#/components/schemas/ErrorResponseDto';
  const body = spec.components.schemas.ErrorResponseDto;
  assert.deepEqual([...body.required].sort(), ['error', 'message', 'statusCode']);
  assert.ok(body.properties.details);
  for (const [path, ops] of Object.entries<any>(spec.paths)) {
    for (const [method, o] of Object.entries<any>(ops)) {
      for (const [status, resp] of Object.entries<any>(o.responses)) {
        if (Number(status) < 400) continue;
        if (path === '/health/ready') {
          assert.ok(resp.content?.['application/json']?.schema, 'readiness 503 has a schema');
          continue;
        }
        assert.deepEqual(
          refs(resp.content),
          [errorRef],
          `${method.toUpperCase()} ${path} ${status} answers the error body`,
        );
        assert.ok(resp.description, `${method.toUpperCase()} ${path} ${status} says why`);
      }
    }
  }
});

test('every referenced schema exists, and path parameters match the path', () => {
  const schemas = new Set(
    Object.keys(spec.components.schemas).map((s) => `#/components/schemas/${s}`),
  );
  const dangling = refs(spec.paths).filter((r) => !schemas.has(r));
  assert.deepEqual(dangling, []);
  for (const [path, ops] of Object.entries<any>(spec.paths)) {
    const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [method, o] of Object.entries<any>(ops)) {
      const declared = (o.parameters ?? [])
        .filter((p: any) => p.in === 'path')
        .map((p: any) => p.name)
        .sort();
      assert.deepEqual(declared, inPath, `${method.toUpperCase()} ${path} path parameters`);
    }
  }
});

test('GET /docs answers the UI as HTML without a key', async () => {
  const res = await fetch(`${t.url}/docs`, { redirect: 'follow' });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await res.text(), /swagger-ui/i);
});
