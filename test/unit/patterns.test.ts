// Subscription patterns: exact names, prefix wildcards, `*`, and reserved types only by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isReservedType,
  isValidPattern,
  matches,
  patternProblem,
  patternsFor,
  RESERVED_EVENT_TYPES,
} from '../../src/subscriptions/patterns';

test('valid and invalid patterns', () => {
  for (const p of ['*', 'order.*', 'order.paid.*', 'order.completed', 'a', 'a-b_c.D9', 'x.y.z.*'])
    assert.equal(isValidPattern(p), true, p);
  for (const p of [
    '',
    '**',
    '.*',
    'order.',
    '.order',
    'order..paid',
    'order*',
    'order.*.paid',
    '*.paid',
    'order.p*',
    'order paid',
    'order/paid',
    'a'.repeat(131),
    42,
    null,
  ])
    assert.equal(isValidPattern(p), false, String(p));
});

test('exact names match only themselves', () => {
  assert.equal(matches('order.paid', 'order.paid'), true);
  assert.equal(matches('order.paid', 'order.paid.eu'), false);
  assert.equal(matches('order.paid', 'order'), false);
  assert.equal(matches('order.paid', 'Order.paid'), false);
});

test('prefix.* matches every depth below the prefix, not the prefix itself', () => {
  assert.equal(matches('order.*', 'order.paid'), true);
  assert.equal(matches('order.*', 'order.paid.eu'), true);
  assert.equal(matches('order.*', 'order'), false);
  assert.equal(matches('order.*', 'orders.paid'), false);
  assert.equal(matches('order.paid.*', 'order.paid.eu'), true);
  assert.equal(matches('order.paid.*', 'order.paid'), false);
  assert.equal(matches('order.paid.*', 'order.refunded.eu'), false);
});

test('* matches every ordinary type', () => {
  for (const t of ['a', 'order.paid', 'invoice.created.v2']) assert.equal(matches('*', t), true, t);
});

test('wildcards never match a reserved type; the exact name does', () => {
  for (const t of RESERVED_EVENT_TYPES) {
    assert.equal(matches('*', t), false, t);
    assert.equal(matches(`${t.split('.')[0]}.*`, t), false, t);
    assert.equal(matches(t, t), true, t);
  }
  assert.equal(matches('tern.*', 'tern.delivery.failed'), false);
  assert.equal(matches('tern.delivery.*', 'tern.delivery.failed'), false);
  assert.equal(matches('webhook.*', 'webhook.test'), false);
  assert.equal(matches('webhook.*', 'webhook.other'), true);
});

test('the tern. namespace is reserved as a whole', () => {
  assert.equal(isReservedType('tern.anything.new'), true);
  assert.equal(isReservedType('webhook.test'), true);
  assert.equal(isReservedType('webhook.other'), false);
  assert.equal(isReservedType('ternary.x'), false);
});

test('patternProblem refuses wildcards that could only ever match reserved types', () => {
  assert.match(patternProblem('tern.*')!, /reserved/);
  assert.match(patternProblem('tern.delivery.*')!, /reserved/);
  assert.equal(patternProblem('webhook.*'), null);
  assert.equal(patternProblem('tern.delivery.failed'), null);
  assert.equal(patternProblem('*'), null);
  assert.match(patternProblem('order.*.x')!, /must be an event type name/);
});

test('patternsFor lists every stored pattern that matches a type', () => {
  assert.deepEqual(patternsFor('order.paid.eu'), ['order.paid.eu', 'order.paid.*', 'order.*', '*']);
  assert.deepEqual(patternsFor('order.paid'), ['order.paid', 'order.*', '*']);
  assert.deepEqual(patternsFor('ping'), ['ping', '*']);
  assert.deepEqual(patternsFor('tern.delivery.failed'), ['tern.delivery.failed']);
  assert.deepEqual(patternsFor('tern.endpoint.disabled'), ['tern.endpoint.disabled']);
  assert.deepEqual(patternsFor('webhook.test'), ['webhook.test']);
});

test('patternsFor agrees with matches on every pattern over a small universe', () => {
  const types = [
    'a',
    'a.b',
    'a.b.c',
    'a.c',
    'b.a',
    'order.paid.eu',
    'webhook.test',
    'webhook.other',
    'tern.delivery.failed',
  ];
  const patterns = ['*', 'a', 'a.*', 'a.b', 'a.b.*', 'a.b.c', 'b.*', 'order.*', 'order.paid.*'];
  patterns.push('webhook.*', 'webhook.test', 'tern.delivery.failed', 'order.paid.eu');
  for (const t of types) {
    const expected = patterns.filter((p) => matches(p, t)).sort();
    const listed = patternsFor(t)
      .filter((p) => patterns.includes(p))
      .sort();
    assert.deepEqual(listed, expected, t);
    for (const p of patternsFor(t)) assert.equal(matches(p, t), true, `${p} ~ ${t}`);
  }
});
