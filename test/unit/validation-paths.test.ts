import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import {
  flattenValidationErrors,
  INFINITE_MESSAGE,
  SURROGATE_MESSAGE,
  unstorable,
  validationPipe,
} from '../../src/common/validation';
import { TriggerBatchDto, TriggerEventDto } from '../../src/events/dto/trigger-event.dto';

const fields = async (body: unknown, parent?: string) =>
  flattenValidationErrors(
    await validate(plainToInstance(TriggerBatchDto, body), {
      whitelist: true,
      forbidNonWhitelisted: true,
    }),
    parent,
  ).map((p) => p.field);

test("a batch item's field is named events[i].field, as the service's own checks name it", async () => {
  const named = await fields({
    events: [
      { type: 'order.paid', data: {} },
      { type: 7, data: {} },
      { type: 'order.paid', data: {}, extra: 1 },
    ],
  });
  assert.ok(named.includes('events[1].type'), named.join(', '));
  assert.ok(named.includes('events[2].extra'), named.join(', '));
  assert.ok(!named.some((f) => /\.\d/.test(f)), named.join(', '));
});

test('an unknown key that is a number stays a key, not an index', async () => {
  assert.deepEqual(await fields({ events: [{ type: 'order.paid', data: {}, '3': 1 }] }), [
    'events[0].3',
  ]);
  assert.deepEqual(await fields({ events: [{ type: 'order.paid', data: {} }], '0': 1 }), ['0']);
});

test('top-level fields keep their name, and a parent prefixes them', async () => {
  assert.deepEqual((await fields({ events: [], more: 1 })).sort(), ['events', 'more']);
  const nested = await fields({ events: [{ type: 1, data: {} }] }, '[3]');
  assert.ok(nested.length > 0);
  assert.deepEqual(new Set(nested), new Set(['[3].events[0].type']));
});

test('unstorable names the string, key or number Postgres cannot store as sent', () => {
  const at = (value: unknown, opaque?: string[][]) => unstorable(value, opaque)?.path ?? null;
  const batch = [['events', '[]', 'data']];
  assert.equal(at({ name: 'a\u0000b' }), 'name');
  assert.equal(at('x\u0000'), '', 'a parameter itself');
  assert.equal(at({ metadata: { a: ['x', 'y\u0000'] } }), 'metadata.a[1]');
  assert.equal(at({ metadata: { 'k\u0000': 1 } }), 'metadata.k\u0000');
  const items = { events: [{ data: { a: '\u0000' } }, { idempotencyKey: '\u0000' }] };
  assert.equal(at(items, batch), 'events[1].idempotencyKey');
  assert.equal(at({ events: [{ data: { a: '\u0000' } }] }, batch), null);
  assert.equal(at({ events: [{ data: { a: '\u0000' } }] }), 'events[0].data.a', 'not opaque');
  assert.equal(at({ type: 't', data: { note: 'a\u0000', 'k\ud800': [1] } }, [['data']]), null);
  assert.equal(at({ metadata: { data: '\u0000' } }, [['data']]), 'metadata.data');
  assert.equal(at({ name: 'plain ✓ 😀', n: 1.5e308, b: true, z: null }), null);
  // A lone surrogate, either half; a pair is fine.
  assert.deepEqual(unstorable({ metadata: { k: 'a\ud800' } }), {
    path: 'metadata.k',
    message: SURROGATE_MESSAGE,
  });
  assert.equal(at({ idempotencyKey: '\udc00x' }), 'idempotencyKey');
  assert.equal(at({ name: '\ud83d\ude00' }), null);
  // A number JSON.parse read as Infinity, in opaque data too.
  assert.deepEqual(unstorable({ schema: { maximum: Infinity } }), {
    path: 'schema.maximum',
    message: INFINITE_MESSAGE,
  });
  assert.equal(at({ events: [{ data: { a: [1, -Infinity] } }] }, batch), 'events[0].data.a[1]');
});

test('the trigger DTOs mark their data as opaque JSON, so the pipe lets a NUL through there only', async () => {
  const pipe = validationPipe();
  const body = (metatype: any, value: unknown) =>
    pipe.transform(value, { type: 'body', metatype, data: undefined });
  await body(TriggerBatchDto, { events: [{ type: 'a.b', data: { s: '\u0000' } }] });
  await assert.rejects(
    body(TriggerBatchDto, { events: [{ type: 'a.b', data: {}, idempotencyKey: '\u0000' }] }),
    (e: any) => e.details?.[0]?.field === 'events[0].idempotencyKey',
  );
  await body(TriggerEventDto, { type: 'a.b', data: { s: '\u0000' } });
  await assert.rejects(
    pipe.transform('x\u0000', { type: 'param', metatype: String, data: 'tenantId' }),
    (e: any) => e.details?.[0]?.field === 'tenantId',
  );
  await assert.rejects(
    pipe.transform({ data: '\u0000' }, { type: 'query', metatype: Object, data: undefined }),
    (e: any) => e.details?.[0]?.field === 'data',
    'opaque only in a trigger body',
  );
});
