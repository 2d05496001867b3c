import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryFailedError } from 'typeorm';
import { GroupCommit } from '../../src/events/group-commit';
import { worthSplitting } from '../../src/events/events.service';
import { TernError } from '../../src/common/errors';

test('concurrent submissions share one write and each gets its own result', async () => {
  const writes: number[][] = [];
  const gc = new GroupCommit<number, string>(
    async (subs) => {
      writes.push(subs);
      return subs.map((s) => `r${s}`);
    },
    () => 1,
    { maxItems: 100, maxInFlight: 1 },
  );
  const results = await Promise.all([1, 2, 3, 4].map((n) => gc.submit(n)));
  assert.deepEqual(results, ['r1', 'r2', 'r3', 'r4']);
  assert.deepEqual(writes, [[1, 2, 3, 4]]);
});

test('a write holds at most maxItems items; later submissions wait for the next write', async () => {
  const writes: number[][] = [];
  const gc = new GroupCommit<number, number>(
    async (subs) => {
      writes.push(subs);
      await new Promise((r) => setTimeout(r, 5));
      return subs;
    },
    (s) => s,
    { maxItems: 5, maxInFlight: 1 },
  );
  await Promise.all([2, 2, 2, 4, 1].map((n) => gc.submit(n)));
  assert.deepEqual(writes, [[2, 2], [2], [4, 1]]);
});

test('an oversized submission still goes, alone', async () => {
  const writes: number[][] = [];
  const gc = new GroupCommit<number, number>(
    async (subs) => (writes.push(subs), subs),
    (s) => s,
    { maxItems: 5, maxInFlight: 2 },
  );
  assert.equal(await gc.submit(9), 9);
  assert.deepEqual(writes, [[9]]);
});

test('when a shared write fails, it is written again in halves and only the bad one fails', async () => {
  const writes: number[][] = [];
  const gc = new GroupCommit<number, number>(
    async (subs) => {
      writes.push(subs);
      if (subs.includes(13)) throw new Error('bad 13');
      return subs.map((s) => s * 10);
    },
    () => 1,
    { maxItems: 100, maxInFlight: 1 },
  );
  const settled = await Promise.allSettled([1, 13, 3].map((n) => gc.submit(n)));
  assert.deepEqual(
    settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)),
    [10, 'bad 13', 30],
  );
  assert.deepEqual(writes, [[1, 13, 3], [1, 13], [1], [13], [3]]);
});

test('one bad submission among 100 is found in halves, one write at a time', async () => {
  const writes: number[][] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const gc = new GroupCommit<number, number>(
    async (subs) => {
      writes.push(subs);
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      if (subs.includes(57)) throw new Error('bad 57');
      return subs;
    },
    () => 1,
    { maxItems: 100, maxInFlight: 4 },
  );
  const all = Array.from({ length: 100 }, (_, i) => i);
  const settled = await Promise.allSettled(all.map((n) => gc.submit(n)));
  assert.deepEqual(
    settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)),
    all.map((n) => (n === 57 ? 'bad 57' : n)),
  );
  assert.deepEqual(writes[0], all, 'the first write held them all');
  // One shared write, then two a level (the bad half and the good one) for ceil(log2(100)) = 7
  // levels: 15, where writing each submission again alone took 101.
  assert.equal(writes.length, 15);
  assert.ok(
    writes.some((w) => w.length === 1 && w[0] === 57),
    'the bad one was written alone',
  );
  assert.equal(mostInFlight, 1, 'the halves ran one after the other');
});

test('a shared write whose failure is not worth retrying fails every submission with it', async () => {
  const writes: number[][] = [];
  const lost = new Error('connection lost during COMMIT');
  const gc = new GroupCommit<number, number>(
    async (subs) => {
      writes.push(subs);
      if (writes.length === 1) throw lost;
      return subs;
    },
    () => 1,
    { maxItems: 100, maxInFlight: 1, retryAlone: (e) => e !== lost },
  );
  const settled = await Promise.allSettled([1, 2, 3].map((n) => gc.submit(n)));
  assert.deepEqual(
    settled.map((s) => s.status === 'rejected' && s.reason),
    [lost, lost, lost],
    'the outcome-unknown failure reaches every caller, not a retry of its own',
  );
  assert.deepEqual(writes, [[1, 2, 3]]);
});

/** A GroupCommit whose writes take `ms` each, recording when each started and ended. */
function timedWrites(ms: number, options: ConstructorParameters<typeof GroupCommit>[2]) {
  const log: { subs: number[]; start: number; end: number }[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const gc = new GroupCommit<number, number>(
    async (subs) => {
      const entry = { subs, start: Date.now(), end: 0 };
      log.push(entry);
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
      entry.end = Date.now();
      return subs;
    },
    () => 1,
    options,
  );
  return { gc, log, mostInFlight: () => mostInFlight };
}

const tick = () => new Promise((r) => setImmediate(r));

test('with overlapAfterMs, submissions wait for the write in flight and go together after it', async () => {
  const { gc, log, mostInFlight } = timedWrites(30, {
    maxItems: 100,
    maxInFlight: 4,
    overlapAfterMs: 10_000,
  });
  const first = gc.submit(1);
  await tick();
  await tick(); // the first write is under way
  await Promise.all([first, gc.submit(2), gc.submit(3), gc.submit(4)]);
  assert.deepEqual(
    log.map((w) => w.subs),
    [[1], [2, 3, 4]],
  );
  assert.equal(mostInFlight(), 1);
});

test('with overlapAfterMs, a write starts beside one in flight once the waiting items fill a write', async () => {
  const { gc, log, mostInFlight } = timedWrites(30, {
    maxItems: 2,
    maxInFlight: 4,
    overlapAfterMs: 10_000,
  });
  const first = gc.submit(1);
  await tick();
  await tick();
  await Promise.all([first, gc.submit(2), gc.submit(3)]);
  assert.deepEqual(
    log.map((w) => w.subs),
    [[1], [2, 3]],
  );
  assert.equal(mostInFlight(), 2);
  assert.ok(log[1].start < log[0].end, 'the full write did not wait for the first');
});

test('with overlapAfterMs, a write starts beside a slow one once that has taken overlapAfterMs', async () => {
  const { gc, log, mostInFlight } = timedWrites(800, {
    maxItems: 100,
    maxInFlight: 4,
    overlapAfterMs: 40,
  });
  const first = gc.submit(1);
  await tick();
  await tick();
  await Promise.all([first, gc.submit(2)]);
  assert.deepEqual(
    log.map((w) => w.subs),
    [[1], [2]],
  );
  assert.equal(mostInFlight(), 2);
  assert.ok(log[1].start >= log[0].start + 35, `waited ${log[1].start - log[0].start} ms`);
  assert.ok(log[1].start < log[0].end, 'it did not wait for the slow write to end');
});

test('ingestion splits a failed write only for failures one submission can cause', () => {
  const pg = (code: string, message = 'x') =>
    new QueryFailedError('INSERT', [], Object.assign(new Error(message), { code }));
  for (const e of [
    pg('23503', 'insert or update on table "events" violates foreign key constraint'),
    pg('22021', 'invalid byte sequence for encoding "UTF8": 0x00'),
    pg('40P01', 'deadlock detected'),
    new TernError('conflict', 'idempotencyKey k was taken by an event that is gone; try again'),
  ])
    assert.equal(worthSplitting(e), true, e.message);
  for (const e of [
    pg('25006', 'cannot execute INSERT in a read-only transaction'),
    pg('53100', 'could not extend file: No space left on device'),
    pg('42P01', 'relation "events" does not exist'),
    pg('57P01', 'terminating connection due to administrator command'),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    new TypeError("Cannot read properties of undefined (reading 'id')"),
  ])
    assert.equal(worthSplitting(e), false, e.message);
});
