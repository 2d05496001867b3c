// verifyWebhook from the SDK: what a receiver calls on each delivery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import {
  generateSecret,
  signatureHeader,
  verifyWebhook,
  WebhookVerificationError,
} from '../../src/sdk';
import { WebhookVerificationError as SigningError } from '../../src/signing/standard-webhooks';

const event = {
  id: 'evt_01jc2x0000000000000000000',
  type: 'order.completed',
  timestamp: '2026-01-01T00:00:00.000Z',
  data: { orderId: 'o_1', total: 99 },
};
const raw = JSON.stringify(event);
const now = () => Math.floor(Date.now() / 1000);

function delivery(secrets: string[], payload: string | Buffer = raw, ts = now()) {
  return {
    'content-type': 'application/json',
    'webhook-id': event.id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signatureHeader(secrets, event.id, ts, payload),
  };
}

test('returns the parsed event of a genuine delivery (string or Buffer body)', () => {
  const secret = generateSecret();
  const headers = delivery([secret]);
  assert.deepEqual(verifyWebhook(raw, headers, secret), event);
  const typed = verifyWebhook<{ orderId: string }>(Buffer.from(raw), headers, secret);
  assert.equal(typed.data.orderId, 'o_1');
  assert.deepEqual(verifyWebhook(raw, new Headers(headers), secret), event);
});

test('throws WebhookVerificationError (the signing class) for a forged or stale delivery', () => {
  const secret = generateSecret();
  assert.equal(WebhookVerificationError, SigningError);
  assert.throws(
    () => verifyWebhook(raw, delivery([generateSecret()]), secret),
    (e: unknown) => e instanceof WebhookVerificationError && e.name === 'WebhookVerificationError',
  );
  const stale = delivery([secret], raw, now() - 400);
  assert.throws(() => verifyWebhook(raw, stale, secret), /too old/);
  assert.deepEqual(verifyWebhook(raw, stale, secret, { toleranceSeconds: 600 }), event);
  assert.throws(() => verifyWebhook(raw, {}, secret), /Missing required header/);
});

test('accepts what the standardwebhooks library signs', () => {
  const secret = generateSecret();
  const ts = now();
  const sig = new Webhook(secret).sign(event.id, new Date(ts * 1000), raw);
  const headers = {
    'webhook-id': event.id,
    'webhook-timestamp': String(ts),
    'webhook-signature': sig,
  };
  assert.deepEqual(verifyWebhook(raw, headers, secret), event);
});

test('a signed body that is not a JSON object is refused', () => {
  const secret = generateSecret();
  assert.throws(
    () => verifyWebhook('not json', delivery([secret], 'not json'), secret),
    /not JSON/,
  );
  assert.throws(
    () => verifyWebhook('[1]', delivery([secret], '[1]'), secret),
    /not a webhook event/,
  );
});
