import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeError, LOG_BODY_BYTES, logText, onAbort } from '../../src/dispatch/sender';
import { buildHeaders } from '../../src/dispatch/dispatcher.service';
import { ClaimedDelivery } from '../../src/deliveries/delivery-claims.service';

test('connection errors are named plainly', () => {
  assert.match(
    describeError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }, 1000),
    /^connection refused/,
  );
  assert.match(
    describeError({ code: 'ECONNRESET', message: 'socket hang up' }, 1000),
    /^connection reset/,
  );
  assert.match(
    describeError({ code: 'UND_ERR_SOCKET', message: 'other side closed' }, 1000),
    /^connection reset/,
  );
  assert.match(
    describeError({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND nowhere.invalid' }, 1000),
    /^DNS lookup failed/,
  );
  assert.match(
    describeError(
      { name: 'TimeoutError', message: 'The operation was aborted due to timeout' },
      1500,
    ),
    /^timeout: no complete answer within 1500 ms/,
  );
  assert.match(
    describeError({ code: 'UND_ERR_HEADERS_TIMEOUT', message: 'Headers Timeout Error' }, 1500),
    /^timeout/,
  );
  assert.match(
    describeError({ code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' }, 1000),
    /^TLS error/,
  );
  assert.match(
    describeError({ code: 'ETARGETREFUSED', message: 'target 10.0.0.1 is private' }, 1000),
    /SSRF guard/,
  );
});

const claimed = (headers: Record<string, string>): ClaimedDelivery => ({
  id: 'dlv_1',
  tenantId: 't',
  eventId: 'evt_1',
  endpointId: 'ep_1',
  eventType: 'order.paid',
  attempt: 3,
  maxAttempts: 5,
  isAlert: false,
  manualRetry: false,
  claimId: 'c',
  body: '{"a":1}',
  url: 'http://x',
  headers,
  secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0'],
  rateLimitPerSecond: null,
});

test("an endpoint's own headers are added but never replace Tern's", () => {
  const h = buildHeaders(
    claimed({
      'X-Team': 'billing',
      'Webhook-Id': 'evil',
      'User-Agent': 'evil',
      'x-webhook-retry': '9',
      Host: 'evil',
    }),
    'Tern-Webhooks/1.0.0',
    1700000000,
  );
  assert.equal(h['X-Team'], 'billing');
  assert.equal(h['webhook-id'], 'evt_1');
  assert.equal(h['user-agent'], 'Tern-Webhooks/1.0.0');
  assert.equal(h['x-webhook-retry'], '2');
  assert.equal(h['x-webhook-delivery-id'], 'dlv_1');
  assert.equal(h['x-webhook-event'], 'order.paid');
  assert.equal(h['webhook-timestamp'], '1700000000');
  assert.equal(h['content-type'], 'application/json');
  assert.equal(Object.keys(h).filter((k) => k.toLowerCase() === 'webhook-id').length, 1);
  assert.equal(Object.keys(h).filter((k) => k.toLowerCase() === 'host').length, 0);
  // During rotation both secrets sign: two entries separated by one space.
  assert.match(h['webhook-signature'], /^v1,[A-Za-z0-9+/=]+ v1,[A-Za-z0-9+/=]+$/);
});

test('the logged body is cut on a character boundary and holds no NUL', () => {
  const euros = Buffer.from('€'.repeat(2000)); // 3 bytes each: 4096 falls inside a character
  const cut = logText([euros]);
  assert.equal(cut, '€'.repeat(1365));
  assert.ok(Buffer.byteLength(cut) <= LOG_BODY_BYTES);
  // A 4-byte character straddling the limit, then one ending exactly on it.
  const emoji = Buffer.concat([Buffer.alloc(4094, 'a'), Buffer.from('😀')]);
  assert.equal(logText([emoji]), 'a'.repeat(4094));
  const exact = Buffer.concat([Buffer.alloc(4092, 'a'), Buffer.from('😀'), Buffer.from('b')]);
  assert.equal(logText([exact]), 'a'.repeat(4092) + '😀');
  assert.equal(
    logText([Buffer.from('ok\u0000bin'), Buffer.from([0, 0xff])]),
    'ok\uFFFDbin\uFFFD\uFFFD',
  );
  assert.equal(logText([]), '');
});

test('a signal aborts what waits on it once, and not what was forgotten', () => {
  const controller = new AbortController();
  const ran: string[] = [];
  onAbort(controller.signal, () => ran.push('a'));
  const forgetB = onAbort(controller.signal, () => ran.push('b'));
  onAbort(controller.signal, () => ran.push('c'));
  forgetB();
  const other = new AbortController();
  onAbort(other.signal, () => ran.push('other'));
  controller.abort();
  assert.deepEqual(ran, ['a', 'c']);
  onAbort(controller.signal, () => ran.push('late'));
  assert.deepEqual(ran, ['a', 'c', 'late'], 'an aborted signal aborts at once');
});
