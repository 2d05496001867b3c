// Which failures answer 503 (a dependency is down) rather than 500, and the lost-COMMIT answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryFailedError } from 'typeorm';
import {
  HttpErrorFilter,
  isDependencyDown,
  isLostCommit,
  isNulRefused,
} from '../../src/common/http-error.filter';

const failed = (query: string, message: string, code?: string) =>
  new QueryFailedError(query, [], Object.assign(new Error(message), code ? { code } : {}));

test('connection-level failures of Postgres and Redis are dependency failures', () => {
  for (const message of [
    'Query read timeout',
    'Client was closed and is not queryable',
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'timeout exceeded when trying to connect',
    'Connection is closed.',
  ]) {
    assert.ok(isDependencyDown(new Error(message)), message);
  }
  assert.ok(isDependencyDown(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })));
  assert.ok(!isDependencyDown(new Error('duplicate key value violates unique constraint')));
  assert.ok(!isDependencyDown(undefined));
});

test('a COMMIT that lost its connection is a lost commit; other statements are not', () => {
  assert.ok(isLostCommit(failed('COMMIT', 'Connection terminated unexpectedly')));
  assert.ok(isLostCommit(failed('COMMIT', 'Query read timeout')));
  assert.ok(!isLostCommit(failed('INSERT INTO events ...', 'Connection terminated unexpectedly')));
  assert.ok(!isLostCommit(failed('COMMIT', 'deferred constraint violated', '23503')));
  assert.ok(!isLostCommit(new Error('Connection terminated unexpectedly')));
});

test('the filter answers 503 with Retry-After, and says when the outcome is unknown', () => {
  const filter = new HttpErrorFilter();
  const plain = filter.describe(failed('INSERT INTO events ...', 'Query read timeout'));
  assert.equal(plain.status, 503);
  assert.equal(plain.headers['retry-after'], '1');
  assert.match(plain.body.message, /nothing was accepted/);
  const lost = filter.describe(failed('COMMIT', 'Connection terminated unexpectedly'));
  assert.equal(lost.status, 503);
  assert.equal(lost.body.error, 'Service Unavailable');
  assert.match(lost.body.message, /may or may not have been applied.*same Idempotency-Key/);
  assert.equal(filter.describe(new Error('boom')).status, 500);
});

test('a NUL Postgres refused is a 400 with an error id; other query failures, encodings too, 500', () => {
  const filter = new HttpErrorFilter();
  const text = failed('SELECT $1', 'invalid byte sequence for encoding "UTF8": 0x00', '22021');
  const json = failed('SELECT $1::jsonb', 'unsupported Unicode escape sequence', '22P05');
  (json.driverError as any).detail = '\\u0000 cannot be converted to text.';
  for (const err of [text, json]) {
    assert.ok(isNulRefused(err));
    const { status, body } = filter.describe(err);
    assert.equal(status, 400, err.message);
    assert.match(
      body.message,
      /NUL character \(U\+0000\), which cannot be stored \(id [0-9a-f-]{36}\)/,
    );
    assert.match((body.details as any).errorId, /^[0-9a-f-]{36}$/);
  }
  for (const other of [
    failed('SELECT 1/0', 'division by zero', '22012'),
    failed('SELECT $1', 'invalid byte sequence for encoding "UTF8": 0xc3 0x28', '22021'),
    failed('SELECT $1::jsonb', 'unsupported Unicode escape sequence', '22P05'),
  ]) {
    assert.ok(!isNulRefused(other), other.message);
    assert.equal(filter.describe(other).status, 500, other.message);
  }
});
