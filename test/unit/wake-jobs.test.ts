import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byEndpoint, wakeJobs } from '../../src/queue/delivery-queue';

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

test('byEndpoint groups [deliveryId, endpointId] pairs by endpoint, in the order given', () => {
  const groups = byEndpoint([
    ['d1', 'a'],
    ['d2', 'b'],
    ['d3', 'a'],
  ]);
  assert.deepEqual(
    [...groups],
    [
      ['a', ['d1', 'd3']],
      ['b', ['d2']],
    ],
  );
  byEndpoint([['d4', 'b']], groups);
  assert.deepEqual(groups.get('b'), ['d2', 'd4'], 'added to the map it is given');
});

test('wakeJobs: each endpoint once a job, a job holds at most the chunk, nothing lost or repeated', () => {
  const groups = new Map([
    ['a', ids('a', 700)],
    ['b', ids('b', 700)],
    ['c', ids('c', 1_100)],
  ]);
  const jobs = wakeJobs(groups, 1_000);
  assert.deepEqual(
    jobs.map((j) => j.e!.map(([ep, d]) => `${ep}:${d.length}`)),
    [['a:700', 'b:300'], ['b:400', 'c:600'], ['c:500']],
  );
  for (const j of jobs) {
    const endpoints = j.e!.map(([ep]) => ep);
    assert.equal(new Set(endpoints).size, endpoints.length);
  }
  const all = jobs.flatMap((j) => j.e!.flatMap(([ep, d]) => d.map((id) => `${ep}/${id}`)));
  const want = [...groups].flatMap(([ep, d]) => d.map((id) => `${ep}/${id}`));
  assert.deepEqual(all, want);
});

test('wakeJobs: a chunk filled exactly starts a new job; no groups make no job', () => {
  assert.deepEqual(
    wakeJobs(
      new Map([
        ['a', ['1', '2']],
        ['b', ['3']],
      ]),
      2,
    ).map((j) => j.e),
    [[['a', ['1', '2']]], [['b', ['3']]]],
  );
  assert.deepEqual(wakeJobs(new Map(), 2), []);
});
