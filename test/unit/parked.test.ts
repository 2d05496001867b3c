import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HIGH_WATER,
  LINE_LIMIT,
  lineBound,
  parked,
  RATE_LINE_SECONDS,
  STALL_MS,
} from '../../src/dispatch/dispatcher.service';

const now = 1_000_000;
const TIMEOUT = 15_000;
const line = (
  over: Partial<{
    failing: number;
    sending: number;
    progressAt: number;
    sendMs: number;
    rate: number | null;
    answered: boolean;
  }> = {},
) => ({
  failing: 0,
  sending: 0,
  progressAt: now,
  sendMs: 100,
  rate: null,
  answered: true,
  ...over,
});

test('an endpoint that keeps failing is parked, with sends out or not', () => {
  assert.equal(parked(line({ failing: 1 }), now, TIMEOUT), true);
  assert.equal(parked(line({ failing: 3, sending: 1 }), now, TIMEOUT), true);
});

test('an endpoint with nothing out is not parked, however long ago a send came back', () => {
  assert.equal(parked(line({ progressAt: 0 }), now, TIMEOUT), false);
});

test('sends out with none back for more than STALL_MS park a quick endpoint; one back within it does not', () => {
  assert.equal(parked(line({ sending: 16, progressAt: now - STALL_MS }), now, TIMEOUT), false);
  assert.equal(parked(line({ sending: 16, progressAt: now - STALL_MS - 1 }), now, TIMEOUT), true);
  assert.equal(parked(line({ sending: 1, progressAt: now - 10 * STALL_MS }), now, TIMEOUT), true);
});

test('a slow endpoint is parked only after four times its usual send without an answer', () => {
  const slow = { sending: 16, sendMs: 3_000 };
  assert.equal(parked(line({ ...slow, progressAt: now - 5_000 }), now, TIMEOUT), false);
  assert.equal(parked(line({ ...slow, progressAt: now - 12_001 }), now, TIMEOUT), true);
});

test('however slow its usual send, an endpoint is parked after half DELIVERY_TIMEOUT_MS without an answer', () => {
  // sendMs also averages timed-out attempts: after a few, four times it is past the timeout.
  const hung = { sending: 16, sendMs: 12_000 };
  assert.equal(parked(line({ ...hung, progressAt: now - TIMEOUT / 2 }), now, TIMEOUT), false);
  assert.equal(parked(line({ ...hung, progressAt: now - TIMEOUT / 2 - 1 }), now, TIMEOUT), true);
});

test('lineBound: LINE_LIMIT when parked, seconds of sends when rate-limited, none otherwise', () => {
  assert.equal(lineBound(line(), now, TIMEOUT), null);
  assert.equal(lineBound(line({ sending: 16 }), now, TIMEOUT), null, 'busy and answering');
  assert.equal(lineBound(line({ failing: 1 }), now, TIMEOUT), LINE_LIMIT);
  assert.equal(
    lineBound(line({ rate: 10 }), now, TIMEOUT),
    LINE_LIMIT,
    'a slow rate: LINE_LIMIT at least',
  );
  assert.equal(lineBound(line({ rate: 100 }), now, TIMEOUT), RATE_LINE_SECONDS * 100);
  assert.equal(lineBound(line({ rate: 10_000 }), now, TIMEOUT), HIGH_WATER, 'HIGH_WATER at most');
  assert.equal(
    lineBound(line({ rate: 1_000, failing: 2 }), now, TIMEOUT),
    LINE_LIMIT,
    'parked wins',
  );
});

test('lineBound: LINE_LIMIT for a line that has had no HTTP answer yet, whatever else it is', () => {
  assert.equal(lineBound(line({ answered: false }), now, TIMEOUT), LINE_LIMIT);
  assert.equal(lineBound(line({ answered: false, sending: 16 }), now, TIMEOUT), LINE_LIMIT);
  assert.equal(lineBound(line({ answered: false, rate: 1_000 }), now, TIMEOUT), LINE_LIMIT);
  assert.equal(lineBound(line({ answered: true, sending: 16 }), now, TIMEOUT), null);
});
