// The Bull dashboard at /admin/queues: the admin key only, as Bearer or as a Basic password.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, createTenant, RunningTern, startTern } from '../support/harness';

let t: RunningTern;
let tenantKey: string;

before(async () => {
  t = await startTern({ TERN_ROLE: 'api' });
  tenantKey = (await createTenant(t.api)).apiKey;
});

after(async () => {
  await t?.close();
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function open(authorization?: string, path = '/admin/queues') {
  const res = await fetch(`${t.url}${path}`, {
    headers: authorization ? { authorization } : {},
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

test('without a key: 401 with the error body and a Basic challenge', async () => {
  const res = await open();
  assert.equal(res.status, 401);
  assert.deepEqual(JSON.parse(res.text), {
    statusCode: 401,
    error: 'Unauthorized',
    message: 'The queue dashboard needs the admin key',
  });
  assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/);
  // Its API and assets are behind the same guard.
  assert.equal((await open(undefined, '/admin/queues/api/queues')).status, 401);
});

test('a tenant key is refused, as Bearer and as Basic password', async () => {
  assert.equal((await open(`Bearer ${tenantKey}`)).status, 401);
  assert.equal((await open(basic('admin', tenantKey))).status, 401);
  assert.equal((await open(`Bearer ${ADMIN_KEY}x`)).status, 401);
  assert.equal((await open(basic(ADMIN_KEY, 'wrong'))).status, 401, 'the key is the password');
});

test('the admin key opens it, as Bearer and as Basic password', async () => {
  const bearer = await open(`Bearer ${ADMIN_KEY}`);
  assert.equal(bearer.status, 200);
  assert.match(bearer.headers.get('content-type') ?? '', /^text\/html/);
  const viaBasic = await open(basic('anyone', ADMIN_KEY));
  assert.equal(viaBasic.status, 200);
  assert.match(viaBasic.headers.get('content-type') ?? '', /^text\/html/);
  // Its JSON API lists the delivery queue.
  const api = await open(`Bearer ${ADMIN_KEY}`, '/admin/queues/api/queues');
  assert.equal(api.status, 200);
  const names = JSON.parse(api.text).queues.map((q: { name: string }) => q.name);
  assert.deepEqual(names, ['deliveries']);
});
