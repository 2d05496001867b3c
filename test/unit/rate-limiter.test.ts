// The per-key token bucket behind API_RATE_LIMIT_PER_SECOND, driven by an injected clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/auth/rate-limiter';

function clocked(rate: number) {
  const clock = { now: 1_000_000 };
  const limiter = new RateLimiter(rate, () => clock.now);
  return { clock, limiter };
}

test('a new key may burst one second worth of requests, then waits', () => {
  const { limiter } = clocked(5);
  for (let i = 0; i < 5; i++) assert.equal(limiter.take('a'), 0, `request ${i + 1}`);
  // The sixth needs one token: 1/5 s.
  assert.equal(limiter.take('a'), 200);
  assert.equal(limiter.take('a'), 200, 'a refused request costs nothing');
});

test('tokens come back at `rate` a second, never more than the burst', () => {
  const { clock, limiter } = clocked(5);
  for (let i = 0; i < 5; i++) limiter.take('a');
  clock.now += 100; // half a token
  assert.equal(limiter.take('a'), 100);
  clock.now += 100; // one token
  assert.equal(limiter.take('a'), 0);
  assert.equal(limiter.take('a'), 200);
  clock.now += 60_000; // a long pause refills to the burst, not beyond
  for (let i = 0; i < 5; i++) assert.equal(limiter.take('a'), 0);
  assert.ok(limiter.take('a') > 0);
});

test('keys have their own buckets', () => {
  const { limiter } = clocked(2);
  assert.equal(limiter.take('a'), 0);
  assert.equal(limiter.take('a'), 0);
  assert.ok(limiter.take('a') > 0);
  assert.equal(limiter.take('b'), 0, 'another key is unaffected');
  assert.equal(limiter.take('b'), 0);
  assert.ok(limiter.take('b') > 0);
});

test('a steady rate at the limit is always allowed', () => {
  const { clock, limiter } = clocked(10);
  for (let i = 0; i < 10; i++) limiter.take('a'); // bucket empty
  for (let i = 0; i < 100; i++) {
    clock.now += 100; // exactly 10 a second
    assert.equal(limiter.take('a'), 0, `request ${i}`);
  }
});

test('the wait is rounded up to whole milliseconds and suits a 1 per second limit', () => {
  const { clock, limiter } = clocked(1);
  assert.equal(limiter.take('a'), 0);
  assert.equal(limiter.take('a'), 1000);
  clock.now += 333;
  assert.equal(limiter.take('a'), 667);
  clock.now += 667;
  assert.equal(limiter.take('a'), 0);
  const { limiter: fast } = clocked(3);
  for (let i = 0; i < 3; i++) fast.take('a');
  assert.equal(fast.take('a'), 334, 'ceil(1000 / 3)');
});

test('a clock that steps back neither refills nor drains', () => {
  const { clock, limiter } = clocked(5);
  for (let i = 0; i < 4; i++) limiter.take('a');
  clock.now -= 10_000;
  assert.equal(limiter.take('a'), 0, 'the one token left is still there');
  assert.equal(limiter.take('a'), 200);
  clock.now += 200; // counted from the latest time seen, not from the earlier reading
  assert.ok(limiter.take('a') > 0);
});
