import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonDeeperThan } from '../../src/common/json-depth';

const deeper = (text: string, limit: number) => jsonDeeperThan(Buffer.from(text), limit);
const nested = (n: number) => `{"a":${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`;

test('counts arrays and objects alike, up to the limit', () => {
  assert.equal(deeper(nested(3), 3), false);
  assert.equal(deeper(nested(4), 3), true);
  assert.equal(deeper('{"a":{"b":{"c":1}}}', 3), false);
  assert.equal(deeper('{"a":{"b":{"c":{}}}}', 3), true);
  assert.equal(deeper('[[],[],[[]]]', 2), true);
  assert.equal(deeper('[[],[],[]]', 2), false);
  assert.equal(deeper('5', 0), false);
});

test('brackets inside strings, escaped quotes included, do not count', () => {
  assert.equal(deeper('{"a":"[[[[{{{{"}', 1), false);
  assert.equal(deeper('{"a":"\\"[[[[","b":"\\\\"}', 1), false);
  assert.equal(deeper('{"a":"\\\\",  "b":[[1]]}', 2), true);
  assert.equal(deeper('{"é[":"ü{{{"}', 1), false);
});
