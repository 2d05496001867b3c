import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refusedKeyPath } from '../../src/common/validation';

test('names the first __proto__, constructor or prototype key, at any depth, with its path', () => {
  const at = (json: string, path?: string) => refusedKeyPath(JSON.parse(json), path);
  assert.equal(at('{"constructor":1}'), 'constructor');
  assert.equal(at('{"data":{"customer":{"prototype":"p1"}}}'), 'data.customer.prototype');
  // JSON.parse makes "__proto__" an own key, as it would be in a request body.
  assert.equal(at('{"data":{"a":[1,{"__proto__":{"x":1}}]}}'), 'data.a[1].__proto__');
  assert.equal(
    at('{"events":[{"data":{}},{"data":{"constructor":{}}}]}'),
    'events[1].data.constructor',
  );
  assert.equal(at('{"schema":{"constructor":1}}', '[3]'), '[3].schema.constructor');
  assert.equal(at('[{"a":1},{"prototype":1}]'), '[1].prototype');
});

test('other keys and values are accepted, the refused names included as values', () => {
  assert.equal(
    refusedKeyPath(JSON.parse('{"a":"constructor","b":["__proto__"],"c":{"Constructor":1}}')),
    null,
  );
  for (const v of [null, undefined, 1, 'constructor', [], {}])
    assert.equal(refusedKeyPath(v), null);
});
