// The SDK against a running Tern: error mapping over the real stack, and (once the resource routes
// exist) the whole operator flow down to a receiver that checks each delivery with verifyWebhook.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import {
  ADMIN_KEY,
  eventually,
  Receiver,
  RunningTern,
  startReceiver,
  startTern,
  uniq,
} from '../support/harness';
import { isValidSecret, Tern, TernApiError, verifyWebhook } from '../../src/sdk';
import type { Delivery } from '../../src/sdk';

let t: RunningTern;
let admin: Tern;

before(async () => {
  t = await startTern();
  admin = new Tern({ baseUrl: t.url, apiKey: ADMIN_KEY });
});
after(() => t.close());

async function apiError(p: Promise<unknown>): Promise<TernApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TernApiError, `expected TernApiError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to throw');
}

test('an unknown tenant is a TernApiError 404 carrying the contract error body', async () => {
  const e = await apiError(admin.tenants.get('no-such-tenant'));
  assert.equal(e.status, 404);
  assert.equal(e.error, 'Not Found');
  assert.equal(typeof e.message, 'string');
  assert.equal(e.request, 'GET /v1/tenants/no-such-tenant');
});

test('baseUrl with a trailing slash reaches the same API', async () => {
  const e = await apiError(
    new Tern({ baseUrl: `${t.url}/`, apiKey: ADMIN_KEY }).tenants.get('no-such-tenant'),
  );
  assert.equal(e.status, 404);
  assert.equal(e.request, 'GET /v1/tenants/no-such-tenant');
});

test('a body over the size limit is a TernApiError 413', async () => {
  const e = await apiError(
    admin.triggerWebhook('acme', 'order.completed', {
      blob: 'x'.repeat(t.config.maxPayloadBytes + 70_000),
    }),
  );
  assert.equal(e.status, 413);
  assert.equal(e.error, 'Payload Too Large');
  assert.match(e.message, /larger than/);
});

test('a missing or bad key is a TernApiError 401', async () => {
  for (const apiKey of [
    'nope',
    'tern_key_00000000000000000000000000.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  ]) {
    const e = await apiError(new Tern({ baseUrl: t.url, apiKey }).tenants.list());
    assert.equal(e.status, 401);
    assert.equal(e.error, 'Unauthorized');
  }
});

test('operator flow: tenant, catalog, endpoint, trigger, verified delivery, rotation, logs', async () => {
  let receiver: Receiver | undefined;
  try {
    receiver = await startReceiver();
    const created = await admin.tenants.create({ id: uniq('sdk_'), name: 'SDK tenant' });
    assert.equal(typeof created.apiKey, 'string');
    assert.equal((await admin.tenants.get(created.id)).name, 'SDK tenant');
    const tenantId = created.id;

    // The tenant's own key reaches its tenant, and operator routes answer it 404.
    const tk = new Tern({ baseUrl: t.url, apiKey: created.apiKey });
    assert.equal((await apiError(tk.tenants.list())).status, 404);

    await admin.eventTypes.create({ name: 'order.completed', category: 'order' });
    assert.equal((await tk.eventTypes.get('order.completed')).name, 'order.completed');

    const ep = await tk.endpoints.create(tenantId, {
      url: `${receiver.url}/hook`,
      eventTypes: ['order.*'],
    });
    assert.ok(isValidSecret(ep.secret), ep.secret);
    const listed = [];
    for await (const e of tk.endpoints.listAll(tenantId)) listed.push(e.id);
    assert.deepEqual(listed, [ep.id]);

    const accepted = await tk.triggerWebhook(
      tenantId,
      'order.completed',
      { n: 1 },
      { idempotencyKey: 'k1' },
    );
    assert.equal(accepted.type, 'order.completed');
    const again = await tk.triggerWebhook(
      tenantId,
      'order.completed',
      { n: 1 },
      { idempotencyKey: 'k1' },
    );
    assert.equal(again.id, accepted.id);

    const [first] = await receiver.waitFor(1);
    const event = verifyWebhook<{ n: number }>(first.body, first.headers, ep.secret);
    assert.equal(event.id, accepted.id);
    assert.equal(event.type, 'order.completed');
    assert.deepEqual(event.data, { n: 1 });
    assert.deepEqual(
      new Webhook(ep.secret).verify(first.body, first.headers as Record<string, string>),
      event,
    );

    const done = await eventually(async () => {
      const page = await tk.deliveries.list(tenantId, { eventId: accepted.id });
      return page.data.length === 1 && page.data[0].status === 'succeeded' && page.data[0];
    });
    // The SDK's types name what the server sends: every key of a list item, and no other.
    const typed: Record<keyof Delivery, true> = {
      id: true,
      tenantId: true,
      eventId: true,
      endpointId: true,
      eventType: true,
      status: true,
      attemptCount: true,
      nextAttemptAt: true,
      lastStatusCode: true,
      lastError: true,
      createdAt: true,
      updatedAt: true,
    };
    assert.deepEqual(Object.keys(done).sort(), Object.keys(typed).sort());
    assert.equal(done.attemptCount, 1);
    const detail = await tk.deliveries.get(tenantId, done.id);
    assert.ok(Array.isArray(detail.attempts) && detail.attempts.length >= 1);
    assert.equal(detail.attempts[0].statusCode, 200);
    assert.equal((await tk.events.get(tenantId, accepted.id)).id, accepted.id);

    // Rotation: the next delivery carries two signatures, each valid with its secret.
    const rotated = await tk.endpoints.rotateSecret(tenantId, ep.id);
    assert.ok(isValidSecret(rotated.secret));
    assert.notEqual(rotated.secret, ep.secret);
    await tk.triggerWebhook(tenantId, 'order.completed', { n: 2 });
    const second = (await receiver.waitFor(2))[1];
    assert.equal(String(second.headers['webhook-signature']).split(' ').length, 2);
    for (const secret of [rotated.secret, ep.secret])
      assert.deepEqual(verifyWebhook(second.body, second.headers, secret).data, { n: 2 });

    assert.ok(Array.isArray((await tk.alerts.list(tenantId)).data));
    const all = await admin.admin.deliveries({ tenantId });
    assert.ok(all.data.length >= 2);
    await admin.tenants.delete(tenantId);
    assert.equal((await apiError(admin.tenants.get(tenantId))).status, 404);
  } finally {
    await receiver?.close();
  }
});
