// ALERT_WEBHOOK_URL: every alert is POSTed, signed, to the operator's own receiver.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import {
  createEndpoint,
  createEventType,
  createTenant,
  Receiver,
  RunningTern,
  startReceiver,
  startTern,
} from '../support/harness';

let t: RunningTern;
let ops: Receiver;
let dead: Receiver;

before(async () => {
  ops = await startReceiver();
  dead = await startReceiver((_r, res) => {
    res.statusCode = 500;
    res.end();
  });
  t = await startTern({
    ALERT_WEBHOOK_URL: `${ops.url}/alerts`,
    RETRY_SCHEDULE: '100ms,100ms',
    ENDPOINT_DISABLE_AFTER: '1',
  });
  await createEventType(t.api, 'order.paid');
});

after(async () => {
  await t.close();
  await ops.close();
  await dead.close();
});

test('an exhausted delivery and the endpoint it disables reach ALERT_WEBHOOK_URL, signed', async () => {
  const tenant = await createTenant(t.api);
  const ep = await createEndpoint(t.api, tenant.id, { url: dead.url, eventTypes: ['order.paid'] });
  const ev = await t.api.post(`/v1/tenants/${tenant.id}/events`, { type: 'order.paid', data: {} });
  const got = await ops.waitFor(2, 15_000);
  const wh = new Webhook(t.config.alertWebhookSecret!);
  const bodies = got.map((r) => {
    assert.equal(r.url, '/alerts');
    return wh.verify(r.body, r.headers as Record<string, string>) as { type: string; data: any };
  });
  const failed = bodies.find((b) => b.type === 'tern.delivery.failed');
  const disabled = bodies.find((b) => b.type === 'tern.endpoint.disabled');
  assert.ok(failed && disabled, JSON.stringify(bodies.map((b) => b.type)));
  assert.equal(failed.data.tenantId, tenant.id);
  assert.equal(failed.data.deliveryId, ev.body.deliveries[0].id);
  assert.equal(disabled.data.endpointId, ep.id);
  // The derived secret is the documented one: whsec_ + base64(HMAC-SHA256(ADMIN_API_KEY, "tern-alert-webhook")).
  const { createHmac } = await import('node:crypto');
  const expected =
    'whsec_' +
    createHmac('sha256', t.config.adminApiKey).update('tern-alert-webhook').digest('base64');
  assert.equal(t.config.alertWebhookSecret, expected);
});
