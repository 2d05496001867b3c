// Custom endpoint headers: valid tokens, no header Tern owns, no CR/LF/NUL, bounded sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHeaders, RESERVED_HEADERS } from '../../src/endpoints/header-rules';

const fields = (h: unknown) => checkHeaders(h).map((p) => p.field);

test('ordinary headers are fine', () => {
  assert.deepEqual(checkHeaders({}), []);
  assert.deepEqual(
    checkHeaders({ 'X-Api-Key': 'abc', Authorization: 'Bearer t', 'x-tenant': 'é café' }),
    [],
  );
  assert.deepEqual(checkHeaders({ 'X-Empty': '' }), []);
});

test('headers must be an object', () => {
  for (const h of [null, [], 'x', 3, true]) assert.deepEqual(fields(h), ['headers'], String(h));
});

test('every reserved name is refused in any case', () => {
  for (const name of RESERVED_HEADERS) {
    for (const variant of [name, name.toUpperCase(), name.replace(/^./, (c) => c.toUpperCase())]) {
      const problems = checkHeaders({ [variant]: 'x' });
      assert.equal(problems.length, 1, variant);
      assert.equal(problems[0].field, `headers.${variant}`);
      assert.match(problems[0].message, /set by Tern/);
    }
  }
  for (const name of [
    'content-type',
    'user-agent',
    'webhook-id',
    'webhook-timestamp',
    'webhook-signature',
    'x-webhook-event',
    'x-webhook-delivery-id',
    'x-webhook-retry',
    'host',
    'content-length',
    'transfer-encoding',
    'connection',
  ])
    assert.ok(RESERVED_HEADERS.includes(name), name);
});

test('names must be HTTP tokens', () => {
  for (const name of ['X Foo', 'X:Foo', 'X\nFoo', 'X(Foo)', 'é', 'a'.repeat(257)])
    assert.deepEqual(fields({ [name]: 'v' }), [`headers.${name}`], name);
  assert.deepEqual(checkHeaders({ "X-!#$%&'*+.^_`|~": 'v' }), []);
});

test('values: strings without CR, LF or NUL, at most 4096 characters', () => {
  const check = (v: unknown) => checkHeaders({ 'X-Foo': v });
  assert.match(check('a\r\nInjected: 1')[0].message, /CR or LF/);
  assert.match(check('a\nb')[0].message, /CR or LF/);
  assert.match(check('a\rb')[0].message, /CR or LF/);
  assert.match(check('a\0b')[0].message, /NUL/);
  assert.match(check('a\u0001b')[0].message, /visible ASCII/);
  assert.match(check('emoji 😀')[0].message, /visible ASCII/);
  assert.match(check(12)[0].message, /must be a string/);
  assert.match(check(null)[0].message, /must be a string/);
  assert.deepEqual(check('a'.repeat(4096)), []);
  assert.match(check('a'.repeat(4097))[0].message, /at most 4096/);
  assert.equal(check('tab\there')[0], undefined);
});

test('at most 20 headers', () => {
  const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`X-H${i}`, 'v']));
  assert.deepEqual(checkHeaders(twenty), []);
  assert.deepEqual(fields({ ...twenty, 'X-H20': 'v' }), ['headers']);
});

test('the same name twice in different case is refused', () => {
  assert.deepEqual(fields({ 'X-Foo': 'a', 'x-foo': 'b' }), ['headers.x-foo']);
});

test('every bad header is named', () => {
  assert.deepEqual(fields({ Host: 'x', 'X-Ok': 'fine', 'X-Bad': 'a\nb', 'Webhook-Id': 'y' }), [
    'headers.Host',
    'headers.X-Bad',
    'headers.Webhook-Id',
  ]);
});
