import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventTypeNameProblem,
  isReservedEventTypeName,
  RESERVED_EVENT_TYPES,
} from '../../src/catalog/event-type-rules';
import {
  checkedRegExp,
  compileSchema,
  ENDLESS_SCHEMA,
  forRe2,
  runValidator,
  schemaProblem,
} from '../../src/catalog/json-schema';

test('event type names are dot-separated segments of [a-zA-Z0-9_-]', () => {
  for (const ok of [
    'order',
    'order.completed',
    'Order.Completed',
    'a-b_c.d-e_f.1',
    'x'.repeat(128),
  ])
    assert.equal(eventTypeNameProblem(ok), null, ok);
  for (const bad of [
    '',
    '.order',
    'order.',
    'order..completed',
    'order.*',
    '*',
    'order completed',
    'order/completed',
    'ordér',
    'x'.repeat(129),
    42,
    null,
    undefined,
  ])
    assert.notEqual(eventTypeNameProblem(bad), null, JSON.stringify(bad));
});

test("Tern's names are reserved: the seeded types and the whole tern. namespace", () => {
  for (const name of RESERVED_EVENT_TYPES) {
    assert.equal(isReservedEventTypeName(name), true, name);
    assert.match(eventTypeNameProblem(name)!, /reserved/);
  }
  for (const name of ['tern.anything', 'TERN.x', 'Tern.endpoint.created'])
    assert.equal(isReservedEventTypeName(name), true, name);
  for (const name of ['ternary.op', 'tern', 'webhook.testing', 'webhook', 'my.tern.x'])
    assert.equal(isReservedEventTypeName(name), false, name);
});

test('schemas compile with ajv (all errors, formats) or say why not', () => {
  const v = compileSchema({
    type: 'object',
    required: ['id', 'at'],
    properties: { id: { type: 'string' }, at: { type: 'string', format: 'date-time' } },
  });
  assert.equal(v({ id: 'a', at: '2026-01-01T00:00:00Z' }), true);
  assert.equal(v({ at: 'yesterday' }), false);
  assert.equal(v.errors?.length, 2);

  assert.equal(schemaProblem({}), null);
  assert.equal(schemaProblem({ type: 'object', unknownKeyword: 1 }), null, 'not strict');
  assert.match(schemaProblem({ type: 'strnig' })!, /not a valid JSON Schema/);
  assert.match(schemaProblem({ $ref: '#/definitions/missing' })!, /not a valid JSON Schema/);
  assert.match(schemaProblem({ $async: true, type: 'object' })!, /\$async/);
});

test('the $schema dialect selects draft-07, 2019-09 or 2020-12', () => {
  const v2020 = compileSchema({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'array',
    prefixItems: [{ type: 'number' }],
  });
  assert.equal(v2020([1, 'x']), true);
  assert.equal(v2020(['x']), false);
  assert.equal(
    schemaProblem({
      $schema: 'https://json-schema.org/draft/2019-09/schema',
      dependentRequired: {},
    }),
    null,
  );
  assert.equal(schemaProblem({ $schema: 'http://json-schema.org/draft-07/schema#' }), null);
  assert.notEqual(schemaProblem({ $schema: 'https://example.com/custom' }), null);
});

test('two schemas with the same $id compile independently', () => {
  const a = compileSchema({ $id: 'https://example.com/s', type: 'string' });
  const b = compileSchema({ $id: 'https://example.com/s', type: 'number' });
  assert.equal(a('x'), true);
  assert.equal(b('x'), false);
});

test('patterns run on RE2 where it can, meaning what they mean to JavaScript', () => {
  // RE2, not a backtracking RegExp, for a pattern with nested quantifiers.
  assert.ok(!(checkedRegExp('^(a+)+$', 'u') instanceof RegExp));
  const v = compileSchema({
    properties: {
      a: { type: 'string', pattern: '^(a+)+$' },
      b: { pattern: '^[\\u0041-\\u005A]+$' },
      s: { pattern: '^\\S+$' },
      d: { pattern: '^a.b$' },
      e: { pattern: '^\\uD83D\\uDE00$' },
    },
    patternProperties: { '^x-': { type: 'string' } },
  });
  assert.equal(v({ a: 'a'.repeat(26) + '!' }), false);
  assert.equal(v({ a: 'aaa', b: 'ABC', 'x-y': 's', s: 'ab', d: 'axb', e: '😀' }), true);
  assert.equal(v({ b: 'abc' }), false);
  assert.equal(v({ 'x-y': 1 }), false);
  // Where RE2 reads otherwise than JavaScript: \s is Unicode, `.` stops at \r and U+2028.
  assert.equal(v({ s: 'a\u00a0b' }), false);
  assert.equal(v({ d: 'a\rb' }), false);
  assert.equal(v({ d: 'a\u2028b' }), false);
  assert.equal(forRe2('(?<n>a)\\k<n>'), null, 'a named backreference is not RE2 text');
});

test('a pattern RE2 cannot take is refused at save; a stored one loads on RegExp, and says so', () => {
  for (const pattern of [
    'x(?!y)',
    '^(?!b)(a|a)*$', // no nested quantifier, and 13 s on 28 characters in JavaScript
    '^\\p{Letter}+$',
    '^.{0,5000}$',
    '^(a)\\1$',
  ])
    assert.match(
      schemaProblem({ properties: { a: { pattern } } }) ?? 'accepted',
      /linear-time engine \(RE2\) lacks/,
      pattern,
    );
  assert.match(
    schemaProblem({ properties: { a: { pattern: '(?i)abc' } } })!,
    /Invalid regular expression/,
  );
  // Saved before these checks: it still loads; the pattern RE2 lacks runs on RegExp, the other on RE2.
  const said: string[] = [];
  const old = compileSchema(
    { properties: { a: { pattern: 'x(?!y)' }, b: { pattern: '^(a+)+$' } } },
    { lenient: true, onLenient: (p) => said.push(p) },
  );
  assert.equal(old({ a: 'xz', b: 'aa' }), true);
  assert.equal(old({ a: 'xy' }), false);
  assert.equal(old({ b: 'a'.repeat(26) + '!' }), false);
  assert.deepEqual(said, ['x(?!y)']);
  assert.throws(() => compileSchema({ properties: { a: { pattern: 'x(?!y)' } } }));
});

test('forRe2 keeps from RE2 what it would read otherwise', () => {
  assert.equal(forRe2('^(a)(b)(c)(d)(e)(f)(g)(h)\\8$'), null, 'a backreference RE2 reads as 8');
  assert.equal(forRe2('(?s:.)'), null, 'an inline modifier');
  assert.equal(forRe2('^[[:digit:]]$'), '^[\\[:digit:]]$', '[ in a class is a literal');
  const v = compileSchema({ properties: { a: { pattern: '^[[:digit:][a]$' } } });
  assert.equal(v({ a: '1' }), new RegExp('^[[:digit:][a]$', 'u').test('1'));
  assert.equal(v({ a: 'da' }), new RegExp('^[[:digit:][a]$', 'u').test('da'));
});

test('a schema that loops without consuming data is refused; one data reaches fails that check only', () => {
  assert.match(schemaProblem({ $ref: '#' })!, /refers to itself without end/);
  assert.match(schemaProblem({ allOf: [{ $ref: '#' }] })!, /refers to itself without end/);
  // A loop only non-object data reaches: event data is an object, so none can.
  assert.equal(schemaProblem({ anyOf: [{ type: 'object' }, { $ref: '#' }] }), null);
  const deep = {
    properties: { deep: { $ref: '#/definitions/x' } },
    definitions: { x: { allOf: [{ $ref: '#/definitions/x' }] } },
  };
  assert.equal(schemaProblem(deep), null);
  const v = compileSchema(deep);
  assert.equal(runValidator(v, {}), true);
  assert.equal(runValidator(v, { deep: 1 }), ENDLESS_SCHEMA);
  // Recursion that walks the data is fine.
  const tree = compileSchema({ type: 'object', properties: { child: { $ref: '#' } } });
  assert.equal(runValidator(tree, { child: { child: { child: {} } } }), true);
});

test('uniqueItems compares items by their canonical JSON, and fails as ajv does', () => {
  for (const $schema of [undefined, 'https://json-schema.org/draft/2020-12/schema']) {
    const v = compileSchema({
      ...($schema ? { $schema } : {}),
      properties: { a: { uniqueItems: true } },
    });
    assert.equal(v({ a: [1, '1', [1], { x: 1 }, null, true] }), true);
    assert.equal(
      v({
        a: [
          { x: 1, y: [1, { z: 2 }] },
          { y: [1, { z: 2 }], x: 1 },
        ],
      }),
      false,
    );
    assert.deepEqual(v.errors?.[0].params, { i: 1, j: 0 });
    assert.equal(
      v.errors?.[0].message,
      'must NOT have duplicate items (items ## 0 and 1 are identical)',
    );
    // The last item that repeats, and its nearest earlier copy, as ajv names them.
    assert.equal(v({ a: ['a', 'b', 'a', 'b'] }), false);
    assert.deepEqual(v.errors?.[0].params, { i: 3, j: 1 });
    assert.equal(v.errors?.[0].instancePath, '/a');
    assert.equal(
      v({
        a: [
          [1, 2],
          [2, 1],
        ],
      }),
      true,
      'array order counts',
    );
    assert.equal(v({ a: 'not an array' }), true);
    // ajv's own compared every pair of these: six seconds in one trigger.
    assert.equal(v({ a: Array.from({ length: 32_000 }, (_, i) => [i]) }), true);
  }
  assert.equal(compileSchema({ type: 'array', uniqueItems: false })([1, 1]), true);
});

test('a schema larger than 64 KiB of JSON is refused before it is compiled', () => {
  const properties = (n: number) =>
    Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`p${i}`, { type: 'string', pattern: `^p${i}$` }]),
    );
  assert.match(
    schemaProblem({ type: 'object', properties: properties(1_500) })!,
    /bytes of JSON; the limit is 65536/,
  );
  assert.equal(schemaProblem({ type: 'object', properties: properties(100) }), null);
});
