import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCreatedAtCursor } from '../../src/common/created-at-cursor';
import { encodeCursor } from '../../src/common/pagination';
import { TernError } from '../../src/common/errors';

test('a (createdAt, key) cursor round-trips with microseconds', () => {
  assert.equal(decodeCreatedAtCursor(undefined), null);
  assert.equal(decodeCreatedAtCursor(''), null);
  const c = encodeCursor(['2026-01-01T10:20:30.123456Z', 'org:42']);
  assert.deepEqual(decodeCreatedAtCursor(c), {
    createdAt: '2026-01-01T10:20:30.123456Z',
    key: 'org:42',
  });
});

test('anything else is a 400 naming the cursor', () => {
  for (const bad of [
    'garbage',
    encodeCursor(['2026-01-01T10:20:30.123456Z']),
    encodeCursor(['2026-01-01T10:20:30Z', 'x']),
    encodeCursor(["2026-01-01'; DROP TABLE tenants; --", 'x']),
    encodeCursor([1, 'x']),
    encodeCursor(['2026-01-01T10:20:30.123456Z', 5]),
  ]) {
    assert.throws(
      () => decodeCreatedAtCursor(bad),
      (e: unknown) =>
        e instanceof TernError &&
        e.code === 'invalid' &&
        JSON.stringify(e.details).includes('cursor'),
      bad,
    );
  }
});
