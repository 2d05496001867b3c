import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  METADATA_MAX_BYTES,
  METADATA_MAX_KEYS,
  metadataProblem,
} from '../../src/tenants/tenant-rules';
import { isTenantId } from '../../src/common/ids';

test('metadata must be a JSON object', () => {
  assert.equal(metadataProblem({}), null);
  assert.equal(metadataProblem({ plan: 'pro', nested: { a: [1, 2, { b: null }] } }), null);
  for (const bad of [null, undefined, 'x', 5, true, [], [{ a: 1 }]])
    assert.match(metadataProblem(bad)!, /JSON object/, JSON.stringify(bad));
});

test('metadata holds at most 50 keys', () => {
  const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
  assert.equal(metadataProblem(keys(METADATA_MAX_KEYS)), null);
  assert.match(metadataProblem(keys(METADATA_MAX_KEYS + 1))!, /at most 50 keys/);
});

test('metadata keys are 1 to 64 characters', () => {
  assert.equal(metadataProblem({ ['k'.repeat(64)]: 1 }), null);
  assert.match(metadataProblem({ ['k'.repeat(65)]: 1 })!, /keys/);
  assert.match(metadataProblem({ '': 1 })!, /keys/);
});

test('metadata is at most 16 KiB as UTF-8 JSON', () => {
  const overhead = JSON.stringify({ a: '' }).length;
  assert.equal(metadataProblem({ a: 'x'.repeat(METADATA_MAX_BYTES - overhead) }), null);
  assert.match(metadataProblem({ a: 'x'.repeat(METADATA_MAX_BYTES - overhead + 1) })!, /bytes/);
  // Counted in bytes, not characters: 'é' is two bytes.
  assert.match(metadataProblem({ a: 'é'.repeat(METADATA_MAX_BYTES / 2) })!, /bytes/);
});

test('tenant ids: 1 to 64 of [A-Za-z0-9_.:-]', () => {
  for (const ok of ['a', 'org_42', 'Org.42:eu-west', 'x'.repeat(64), 'ten_01jc2x'])
    assert.equal(isTenantId(ok), true, ok);
  for (const bad of ['', 'x'.repeat(65), 'a b', 'a/b', 'ä', 'a\n', '../x'])
    assert.equal(isTenantId(bad), false, JSON.stringify(bad));
});
