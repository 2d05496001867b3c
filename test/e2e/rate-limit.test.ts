// API_RATE_LIMIT_PER_SECOND per API key: a burst beyond it answers 429 with the error body and a
// Retry-After; another key is unaffected; waiting Retry-After is enough to be served again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, createTenant, RunningTern, startTern } from '../support/harness';

const RATE = 5;
let t: RunningTern;
let tenant: { id: string; apiKey: string };
let otherKey: string;

before(async () => {
  t = await startTern({ TERN_ROLE: 'api', API_RATE_LIMIT_PER_SECOND: String(RATE) });
  tenant = await createTenant(t.api);
  const issued = await t.api.post(`/v1/tenants/${tenant.id}/api-keys`);
  assert.equal(issued.status, 201);
  otherKey = issued.body.apiKey;
});

after(async () => {
  await t?.close();
});

const burst = (api: Api, path: string, n: number) =>
  Promise.all(Array.from({ length: n }, () => api.get(path)));

test('a burst beyond the limit is refused with 429, Retry-After and the error body', async () => {
  const api = t.api.as(tenant.apiKey);
  const path = `/v1/tenants/${tenant.id}/endpoints`;
  const started = Date.now();
  const answers = await burst(api, path, 4 * RATE);
  const seconds = (Date.now() - started) / 1000;
  const ok = answers.filter((a) => a.status === 200);
  const limited = answers.filter((a) => a.status === 429);
  assert.equal(ok.length + limited.length, answers.length, 'only 200s and 429s');
  assert.ok(ok.length >= RATE, `the first ${RATE} pass (got ${ok.length})`);
  // At most the burst plus what refilled while the burst was being answered.
  assert.ok(ok.length <= RATE + Math.ceil(seconds * RATE), `${ok.length} passed in ${seconds} s`);
  assert.ok(limited.length > 0, 'some were refused');
  for (const r of limited) {
    assert.deepEqual(Object.keys(r.body).sort(), ['details', 'error', 'message', 'statusCode']);
    assert.equal(r.body.statusCode, 429);
    assert.equal(r.body.error, 'Too Many Requests');
    assert.match(r.body.message, /too many requests/i);
    const retryAfter = r.headers.get('retry-after');
    assert.match(retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After in whole seconds');
    assert.equal(r.body.details.retryAfterSeconds, Number(retryAfter));
  }
});

test("the limit is per key: the tenant's other key and the admin key are still served", async () => {
  const limited = t.api.as(tenant.apiKey);
  const path = `/v1/tenants/${tenant.id}/endpoints`;
  // Make sure the first key's bucket is empty right now.
  const drained = await burst(limited, path, 2 * RATE);
  assert.ok(drained.some((r) => r.status === 429));
  const other = await t.api.as(otherKey).get(path);
  assert.equal(other.status, 200, JSON.stringify(other.body));
  const admin = await t.api.get(path);
  assert.equal(admin.status, 200);
  // Unauthenticated and public routes are not counted against anyone.
  assert.equal((await t.api.as('nope').get(path)).status, 401);
  const health = await burst(t.api.as(null), '/health', 3 * RATE);
  assert.ok(health.every((h) => h.status === 200));
});

test('after waiting Retry-After the key is served again', async () => {
  const api = t.api.as(tenant.apiKey);
  const path = `/v1/tenants/${tenant.id}/endpoints`;
  const answers = await burst(api, path, 2 * RATE);
  const refused = answers.find((a) => a.status === 429);
  assert.ok(refused, 'the burst was limited');
  const wait = Number(refused.headers.get('retry-after')) * 1000;
  // Honouring the server's Retry-After is the behaviour under test, so this wait is the point.
  await new Promise((r) => setTimeout(r, wait));
  const again = await api.get(path);
  assert.equal(again.status, 200, JSON.stringify(again.body));
  // A full second refills the whole burst.
  await new Promise((r) => setTimeout(r, 1000));
  const next = await burst(api, path, RATE);
  assert.ok(
    next.every((r) => r.status === 200),
    next.map((r) => r.status).join(','),
  );
});
