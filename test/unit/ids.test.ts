import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryId, idTime, newId } from '../../src/common/ids';

test('a delivery id carries its event time, sorts by event then by place, and has the id form', () => {
  const at = Date.UTC(2026, 11, 1, 12, 0, 0, 5);
  // Events made in one millisecond differ in their last characters only (newId increments them).
  const events = Array.from({ length: 40 }, () => newId('evt', at));
  const later = newId('evt', at + 1);
  const ids: string[] = [];
  for (const e of [...events, later])
    for (const n of [0, 1, 31, 32, 1023, 1024, 32 ** 4 - 1]) ids.push(deliveryId(e, n));
  assert.deepEqual([...ids].sort(), ids, 'event order first, then n');
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^dlv_[0-9a-hjkmnp-tv-z]{26}$/);
  assert.deepEqual(idTime(deliveryId(events[0], 7)), new Date(at));
  assert.deepEqual(idTime(deliveryId(later, 0)), new Date(at + 1));
});
