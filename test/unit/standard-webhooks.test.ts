// Standard Webhooks signing, checked against the spec's test vector and the public `standardwebhooks` library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook, WebhookVerificationError as TheirError } from 'standardwebhooks';
import {
  generateSecret,
  isValidSecret,
  secretKey,
  sign,
  signatureHeader,
  verify,
  WebhookVerificationError,
} from '../../src/signing/standard-webhooks';

// The example from the Standard Webhooks specification.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const nowSeconds = () => Math.floor(Date.now() / 1000);
const body = JSON.stringify({
  id: 'evt_1',
  type: 'order.completed',
  timestamp: '2026-01-01T00:00:00.000Z',
  data: { total: 12.5, note: 'héllo ✓ 🦅' },
});

function headersFor(secrets: string[], msgId: string, ts: number, payload: string | Buffer) {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(ts),
    'webhook-signature': signatureHeader(secrets, msgId, ts, payload),
  };
}

const rejects = (fn: () => void, message: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof WebhookVerificationError && message.test(e.message),
  );

test('matches the specification test vector', () => {
  assert.equal(sign(VECTOR.secret, VECTOR.msgId, VECTOR.timestamp, VECTOR.body), VECTOR.signature);
  assert.equal(
    sign(VECTOR.secret, VECTOR.msgId, VECTOR.timestamp, Buffer.from(VECTOR.body)),
    VECTOR.signature,
  );
  verify(
    VECTOR.body,
    {
      'webhook-id': VECTOR.msgId,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': VECTOR.signature,
    },
    VECTOR.secret,
    { now: VECTOR.timestamp + 10 },
  );
});

test('secrets: whsec_ + base64 of 32 random bytes, validated and decoded', () => {
  const a = generateSecret();
  const b = generateSecret();
  assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(a, b);
  assert.equal(secretKey(a).length, 32);
  assert.ok(isValidSecret(a));
  assert.ok(isValidSecret(VECTOR.secret)); // 24 bytes: the spec's minimum
  for (const bad of [
    '',
    'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', // no prefix
    'whsec_',
    'whsec_c2hvcnQ=', // 5 bytes
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!',
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=', // not canonical base64
    `whsec_${Buffer.alloc(65).toString('base64')}`,
    42,
    null,
  ])
    assert.equal(isValidSecret(bad), false, String(bad));
  assert.deepEqual(
    secretKey(VECTOR.secret),
    Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'),
  );
  assert.throws(() => secretKey('whsec_not base64!'), TypeError);
});

test('the decoded key is cached per secret, and the cache stays bounded', () => {
  const s = generateSecret();
  assert.equal(secretKey(s), secretKey(s));
  for (let i = 0; i < 3000; i++) secretKey(generateSecret());
  // Still correct after eviction.
  assert.equal(sign(VECTOR.secret, VECTOR.msgId, VECTOR.timestamp, VECTOR.body), VECTOR.signature);
});

test('sign refuses timestamps that are not whole seconds, and an empty message id', () => {
  assert.throws(() => sign(VECTOR.secret, 'm', 1.5, 'x'), TypeError);
  assert.throws(() => sign(VECTOR.secret, 'm', -1, 'x'), TypeError);
  assert.throws(() => sign(VECTOR.secret, '', 1, 'x'), TypeError);
  assert.throws(() => signatureHeader([], 'm', 1, 'x'), TypeError);
});

test('our signature is accepted by the standardwebhooks library', () => {
  const secret = generateSecret();
  const ts = nowSeconds();
  const headers = headersFor([secret], 'evt_abc', ts, body);
  assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
  // And as a Buffer body.
  assert.deepEqual(new Webhook(secret).verify(Buffer.from(body), headers), JSON.parse(body));
});

test('the standardwebhooks library signature is accepted by ours', () => {
  const secret = generateSecret();
  const ts = nowSeconds();
  const theirs = new Webhook(secret).sign('evt_xyz', new Date(ts * 1000), body);
  assert.equal(theirs, sign(secret, 'evt_xyz', ts, body));
  verify(
    body,
    { 'webhook-id': 'evt_xyz', 'webhook-timestamp': String(ts), 'webhook-signature': theirs },
    secret,
  );
});

test('rotation: a two-entry header verifies with either secret, by both libraries', () => {
  const current = generateSecret();
  const previous = generateSecret();
  const ts = nowSeconds();
  const headers = headersFor([current, previous], 'evt_rot', ts, body);
  const entries = headers['webhook-signature'].split(' ');
  assert.equal(entries.length, 2);
  assert.ok(entries.every((e) => /^v1,[A-Za-z0-9+/]{43}=$/.test(e)));
  for (const secret of [current, previous]) {
    verify(body, headers, secret);
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
  }
  rejects(() => verify(body, headers, generateSecret()), /No matching signature/);
  // The same secret twice is signed once.
  assert.equal(signatureHeader([current, current], 'evt_rot', ts, body).split(' ').length, 1);
});

test('a tampered body, another message id or timestamp, or a wrong secret is rejected', () => {
  const secret = generateSecret();
  const ts = nowSeconds();
  const headers = headersFor([secret], 'evt_t', ts, body);
  rejects(() => verify(body.replace('12.5', '13.5'), headers, secret), /No matching signature/);
  rejects(() => verify(body + ' ', headers, secret), /No matching signature/);
  rejects(
    () => verify(body, { ...headers, 'webhook-id': 'evt_other' }, secret),
    /No matching signature/,
  );
  rejects(
    () => verify(body, { ...headers, 'webhook-timestamp': String(ts - 1) }, secret),
    /No matching signature/,
  );
  rejects(() => verify(body, headers, generateSecret()), /No matching signature/);
  assert.throws(() => new Webhook(generateSecret()).verify(body, headers), TheirError);
});

test('signatures of another version, malformed entries and truncated ones are ignored', () => {
  const secret = generateSecret();
  const ts = nowSeconds();
  const good = sign(secret, 'evt_v', ts, body);
  const h = (sig: string) => ({
    'webhook-id': 'evt_v',
    'webhook-timestamp': String(ts),
    'webhook-signature': sig,
  });
  rejects(() => verify(body, h(good.replace('v1,', 'v2,')), secret), /No matching/);
  rejects(() => verify(body, h(good.slice(0, -2)), secret), /No matching/);
  rejects(() => verify(body, h(good.slice(3)), secret), /No matching/);
  rejects(() => verify(body, h('v1a,xxx'), secret), /No matching/);
  verify(body, h(`v1a,xxx  v2,abc ${good}`), secret);
});

test('timestamps outside the tolerance are rejected both ways', () => {
  const secret = generateSecret();
  const now = 1_800_000_000;
  const at = (ts: number) => headersFor([secret], 'evt_time', ts, body);
  verify(body, at(now - 300), secret, { now });
  verify(body, at(now + 300), secret, { now });
  rejects(() => verify(body, at(now - 301), secret, { now }), /too old/);
  rejects(() => verify(body, at(now + 301), secret, { now }), /too new/);
  verify(body, at(now - 3600), secret, { now, toleranceSeconds: 3600 });
  rejects(() => verify(body, at(now - 10), secret, { now, toleranceSeconds: 5 }), /too old/);
  // A tolerance or clock that is not a number cannot switch the check off.
  assert.throws(() => verify(body, at(now), secret, { now: NaN }), TypeError);
  assert.throws(() => verify(body, at(now), secret, { now, toleranceSeconds: NaN }), TypeError);
  assert.throws(() => verify(body, at(now), secret, { now, toleranceSeconds: -1 }), TypeError);
  // Against the real clock by default.
  rejects(() => verify(body, at(nowSeconds() - 600), secret), /too old/);
  for (const bad of ['', 'abc', '1.5', '-1', '1e9'])
    rejects(
      () => verify(body, { ...at(now), 'webhook-timestamp': bad }, secret, { now }),
      bad === '' ? /Missing required header\(s\): webhook-timestamp/ : /Invalid webhook-timestamp/,
    );
});

test('missing headers are named', () => {
  const secret = generateSecret();
  const ts = nowSeconds();
  const full = headersFor([secret], 'evt_m', ts, body);
  rejects(() => verify(body, {}, secret), /webhook-id, webhook-timestamp, webhook-signature/);
  const { 'webhook-signature': _sig, ...noSignature } = full;
  rejects(
    () => verify(body, noSignature, secret),
    /Missing required header\(s\): webhook-signature$/,
  );
  rejects(() => verify(body, { ...full, 'webhook-id': undefined }, secret), /webhook-id/);
});

test('a Buffer body is hashed as its bytes', () => {
  const secret = generateSecret();
  const ts = nowSeconds();
  // Bytes that are not valid UTF-8: decoding them to a string would change what is hashed.
  const raw = Buffer.concat([
    Buffer.from('{"data":"'),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from('"}'),
  ]);
  const headers = headersFor([secret], 'evt_buf', ts, raw);
  verify(raw, headers, secret);
  verify(new Uint8Array(raw), headers, secret);
  rejects(() => verify(raw.toString('utf8'), headers, secret), /No matching signature/);
  // A UTF-8 string and its bytes sign the same.
  assert.equal(sign(secret, 'm', ts, body), sign(secret, 'm', ts, Buffer.from(body, 'utf8')));
  // A parsed object is a usage error, not a failed verification.
  assert.throws(
    () => verify(JSON.parse(body), headersFor([secret], 'm', ts, body), secret),
    /raw request body/,
  );
});

test('header names in any case, Headers objects, node arrays and svix-* aliases', () => {
  const secret = generateSecret();
  const ts = nowSeconds();
  const h = headersFor([secret], 'evt_case', ts, body);
  verify(
    body,
    {
      'Webhook-Id': h['webhook-id'],
      'WEBHOOK-TIMESTAMP': h['webhook-timestamp'],
      'Webhook-Signature': h['webhook-signature'],
    },
    secret,
  );
  verify(body, new Headers(h), secret);
  verify(body, { ...h, 'webhook-signature': [h['webhook-signature']] }, secret);
  const svix = {
    'svix-id': h['webhook-id'],
    'Svix-Timestamp': h['webhook-timestamp'],
    'svix-signature': h['webhook-signature'],
  };
  verify(body, svix, secret);
  verify(body, new Headers(svix), secret);
  rejects(() => verify(body, { 'svix-id': 'evt_case' }, secret), /svix-timestamp, svix-signature/);
  rejects(
    () =>
      verify(
        body,
        { ...svix, 'svix-signature': sign(generateSecret(), 'evt_case', ts, body) },
        secret,
      ),
    /No matching signature/,
  );
});
