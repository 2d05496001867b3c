import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parked, STALL_MS } from '../../src/dispatch/dispatcher.service';

const now = 1_000_000;

test('an endpoint that keeps failing is parked, with sends out or not', () => {
  assert.equal(parked({ failing: 1, sending: 0, progressAt: now }, now), true);
  assert.equal(parked({ failing: 3, sending: 1, progressAt: now }, now), true);
});

test('an endpoint with nothing out is not parked, however long ago a send came back', () => {
  assert.equal(parked({ failing: 0, sending: 0, progressAt: 0 }, now), false);
});

test('sends out with none back for more than STALL_MS park the endpoint; one back within it does not', () => {
  assert.equal(parked({ failing: 0, sending: 16, progressAt: now - STALL_MS }, now), false);
  assert.equal(parked({ failing: 0, sending: 16, progressAt: now - STALL_MS - 1 }, now), true);
  assert.equal(parked({ failing: 0, sending: 1, progressAt: now - 10 * STALL_MS }, now), true);
});
