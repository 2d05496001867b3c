// Tenant API keys over HTTP: issue (shown once), list (never secrets), revoke (401 at once).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, createTenant, RunningTern, startTern } from '../support/harness';

describe('api keys', () => {
  let t: RunningTern;
  let admin: Api;

  before(async () => {
    t = await startTern();
    admin = t.api;
  });
  after(async () => t?.close());

  test('issues a key shown once; the list never holds a secret', async () => {
    const tenant = await createTenant(admin);
    const res = await admin.post(`/v1/tenants/${tenant.id}/api-keys`);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), ['apiKey', 'createdAt', 'id']);
    assert.match(res.body.id, /^key_[0-9a-z]{26}$/);
    assert.ok(res.body.apiKey.startsWith(`tern_${res.body.id}.`));
    assert.equal((await admin.as(res.body.apiKey).get('/v1/event-types')).status, 200);

    const list = await admin.get(`/v1/tenants/${tenant.id}/api-keys`);
    assert.equal(list.status, 200);
    assert.equal(list.body.nextCursor, null);
    assert.equal(list.body.data.length, 2);
    assert.equal(list.body.data[0].id, res.body.id, 'newest first');
    for (const k of list.body.data) {
      assert.deepEqual(Object.keys(k).sort(), ['createdAt', 'id', 'revokedAt']);
      assert.equal(k.revokedAt, null);
    }
    assert.ok(!JSON.stringify(list.body).includes(res.body.apiKey.split('.')[1]));
  });

  test('a revoked key answers 401 at once; revoking twice is fine', async () => {
    const tenant = await createTenant(admin);
    const second = (await admin.post(`/v1/tenants/${tenant.id}/api-keys`)).body;
    const firstId = /^tern_(key_[0-9a-z]{26})\./.exec(tenant.apiKey)![1];
    const del = await admin.delete(`/v1/tenants/${tenant.id}/api-keys/${firstId}`);
    assert.equal(del.status, 204);
    assert.equal((await admin.as(tenant.apiKey).get('/v1/event-types')).status, 401);
    assert.equal((await admin.as(second.apiKey).get('/v1/event-types')).status, 200);
    assert.equal((await admin.delete(`/v1/tenants/${tenant.id}/api-keys/${firstId}`)).status, 204);

    const list = (await admin.get(`/v1/tenants/${tenant.id}/api-keys`)).body.data;
    const revoked = list.find((k: any) => k.id === firstId);
    assert.ok(revoked.revokedAt && !Number.isNaN(Date.parse(revoked.revokedAt)));
    assert.equal(list.find((k: any) => k.id === second.id).revokedAt, null);
  });

  test('a key can only be revoked through its own tenant; unknown keys and tenants are 404', async () => {
    const a = await createTenant(admin);
    const b = await createTenant(admin);
    const aKeyId = /^tern_(key_[0-9a-z]{26})\./.exec(a.apiKey)![1];
    assert.equal((await admin.delete(`/v1/tenants/${b.id}/api-keys/${aKeyId}`)).status, 404);
    assert.equal((await admin.as(a.apiKey).get('/v1/event-types')).status, 200);
    assert.equal((await admin.delete(`/v1/tenants/${a.id}/api-keys/key_nope`)).status, 404);
    assert.equal((await admin.post('/v1/tenants/no-such-tenant/api-keys')).status, 404);
    assert.equal((await admin.get('/v1/tenants/no-such-tenant/api-keys')).status, 404);
  });

  test("tenant keys cannot manage keys, not even their own tenant's (404)", async () => {
    const a = await createTenant(admin);
    const b = await createTenant(admin);
    const aKeyId = /^tern_(key_[0-9a-z]{26})\./.exec(a.apiKey)![1];
    const bKeyId = /^tern_(key_[0-9a-z]{26})\./.exec(b.apiKey)![1];
    const asA = admin.as(a.apiKey);
    for (const [method, path] of [
      ['POST', `/v1/tenants/${a.id}/api-keys`],
      ['GET', `/v1/tenants/${a.id}/api-keys`],
      ['DELETE', `/v1/tenants/${a.id}/api-keys/${aKeyId}`],
      ['POST', `/v1/tenants/${b.id}/api-keys`],
      ['GET', `/v1/tenants/${b.id}/api-keys`],
      ['DELETE', `/v1/tenants/${b.id}/api-keys/${bKeyId}`],
    ]) {
      const res = await asA.request(method, path, method === 'POST' ? {} : undefined);
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    assert.equal((await admin.as(b.apiKey).get('/v1/event-types')).status, 200);
    assert.equal((await asA.get('/v1/event-types')).status, 200);
  });

  test('the key list pages newest first without gaps or duplicates', async () => {
    const tenant = await createTenant(admin);
    const issued = [/^tern_(key_[0-9a-z]{26})\./.exec(tenant.apiKey)![1]];
    for (let i = 0; i < 6; i++)
      issued.push((await admin.post(`/v1/tenants/${tenant.id}/api-keys`)).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await admin.get(`/v1/tenants/${tenant.id}/api-keys?limit=2${q}`);
      assert.equal(res.status, 200);
      seen.push(...res.body.data.map((k: any) => k.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [...issued].reverse());
  });
});
