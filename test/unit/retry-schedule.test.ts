import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  maxAttempts,
  nextAttemptDelay,
  parseDuration,
  parseRetryAfter,
  parseRetrySchedule,
} from '../../src/dispatch/retry-schedule';

test('parses the default schedule', () => {
  assert.deepEqual(parseRetrySchedule('1m,5m,30m,2h'), [60_000, 300_000, 1_800_000, 7_200_000]);
  assert.equal(maxAttempts(parseRetrySchedule('1m,5m,30m,2h')), 5);
});

test('parses compressed test schedules and refuses nonsense', () => {
  assert.deepEqual(parseRetrySchedule('200ms, 400ms,1.5s'), [200, 400, 1500]);
  assert.throws(() => parseRetrySchedule(''));
  assert.throws(() => parseDuration('5 minutes'));
  assert.throws(() => parseDuration('0s'));
});

test('next attempt follows the schedule with at most 10% jitter, then stops', () => {
  const s = [60_000, 300_000];
  assert.equal(
    nextAttemptDelay(s, 1, null, () => 0),
    60_000,
  );
  assert.equal(
    nextAttemptDelay(s, 1, null, () => 0.999),
    60_000 + 5_994,
  );
  assert.equal(
    nextAttemptDelay(s, 2, null, () => 0),
    300_000,
  );
  assert.equal(
    nextAttemptDelay(s, 3, null, () => 0),
    null,
  );
});

test('Retry-After wins when later, capped at the longest step', () => {
  const s = [1000, 5000];
  assert.equal(
    nextAttemptDelay(s, 1, 3000, () => 0),
    3000,
  );
  assert.equal(
    nextAttemptDelay(s, 1, 500, () => 0),
    1000,
  );
  assert.equal(
    nextAttemptDelay(s, 1, 60_000, () => 0),
    5000,
  );
});

test('reads Retry-After as seconds or an HTTP date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(undefined, now), null);
});
