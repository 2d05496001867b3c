import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideOutcome, DeliveryState } from '../../src/dispatch/outcome';

const schedule = [1000, 5000, 30_000, 120_000];
const state = (over: Partial<DeliveryState> = {}): DeliveryState => ({
  attempts: 1,
  maxAttempts: 5,
  manualRetry: false,
  isAlert: false,
  ...over,
});
const noJitter = () => 0;

test('any 2xx succeeds', () => {
  for (const code of [200, 201, 204, 299]) {
    assert.equal(
      decideOutcome({ statusCode: code, retryAfterMs: null }, state(), schedule).status,
      'succeeded',
    );
  }
});

test('3xx, 4xx, 5xx and no answer are retried on the schedule', () => {
  for (const code of [301, 302, 400, 404, 500, null]) {
    const o = decideOutcome(
      { statusCode: code, retryAfterMs: null },
      state({ attempts: 2 }),
      schedule,
      noJitter,
    );
    assert.equal(o.status, 'pending');
    assert.equal(o.retryInMs, 5000);
    assert.equal(o.raiseAlert, false);
  }
});

test('the last attempt fails the delivery, counts it, and raises an alert', () => {
  const o = decideOutcome(
    { statusCode: 500, retryAfterMs: null },
    state({ attempts: 5 }),
    schedule,
  );
  assert.deepEqual(o, {
    status: 'failed',
    retryInMs: null,
    disableEndpoint: null,
    exhausted: true,
    raiseAlert: true,
  });
});

test('alert deliveries and manual retries never raise alerts', () => {
  const a = decideOutcome(
    { statusCode: 500, retryAfterMs: null },
    state({ attempts: 5, isAlert: true }),
    schedule,
  );
  assert.equal(a.status, 'failed');
  assert.equal(a.raiseAlert, false);
  assert.equal(a.exhausted, false);
  const m = decideOutcome(
    { statusCode: 500, retryAfterMs: null },
    state({ attempts: 6, maxAttempts: 6, manualRetry: true }),
    schedule,
  );
  assert.equal(m.status, 'failed');
  assert.equal(m.raiseAlert, false);
});

test('410 Gone disables the endpoint at once and pauses the delivery', () => {
  const o = decideOutcome({ statusCode: 410, retryAfterMs: null }, state(), schedule);
  assert.equal(o.status, 'paused');
  assert.match(o.disableEndpoint ?? '', /410/);
});

test('Retry-After counts on 429 and 503 only, capped at the longest step', () => {
  const r429 = decideOutcome(
    { statusCode: 429, retryAfterMs: 20_000 },
    state(),
    schedule,
    noJitter,
  );
  assert.equal(r429.retryInMs, 20_000);
  const r503 = decideOutcome(
    { statusCode: 503, retryAfterMs: 10_000_000 },
    state(),
    schedule,
    noJitter,
  );
  assert.equal(r503.retryInMs, 120_000);
  const r500 = decideOutcome(
    { statusCode: 500, retryAfterMs: 20_000 },
    state(),
    schedule,
    noJitter,
  );
  assert.equal(r500.retryInMs, 1000);
});

test('a failure with attempts left is a retry: whether the endpoint is disabled is read when the result is written', () => {
  const o = decideOutcome(
    { statusCode: 500, retryAfterMs: null },
    state({ manualRetry: true }),
    schedule,
    noJitter,
  );
  assert.equal(o.status, 'pending');
  assert.equal(o.retryInMs, 1000);
});
