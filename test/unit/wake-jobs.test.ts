import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byEndpoint, EventGroup, wakeJobs } from '../../src/queue/delivery-queue';

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
  const jobs = wakeJobs({ events: [], byEndpoint: groups }, 1_000);
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
      {
        events: [],
        byEndpoint: new Map([
          ['a', ['1', '2']],
          ['b', ['3']],
        ]),
      },
      2,
    ).map((j) => j.e),
    [[['a', ['1', '2']]], [['b', ['3']]]],
  );
  assert.deepEqual(wakeJobs({ events: [], byEndpoint: new Map() }, 2), []);
});

/** Every (event, target) pair the jobs hold, and the deliveries each job holds. */
const unpack = (jobs: ReturnType<typeof wakeJobs>) => ({
  pairs: jobs.flatMap((j) =>
    (j.g ?? []).flatMap(([events, targets]) =>
      events.flatMap((ev) => targets.map(([ep, n]) => `${ev}>${ep}#${n}`)),
    ),
  ),
  sizes: jobs.map(
    (j) =>
      (j.g ?? []).reduce((a, [events, targets]) => a + events.length * targets.length, 0) +
      (j.e ?? []).reduce((a, [, ids]) => a + ids.length, 0),
  ),
});

test('wakeJobs: event groups are split by events, a job holds at most the chunk, then ids by endpoint', () => {
  const targets: [string, number][] = [
    ['a', 0],
    ['b', 1],
    ['c', 2],
  ];
  const groups: EventGroup[] = [
    [ids('e', 5), targets],
    [ids('f', 2), [['d', 0]]],
  ];
  const jobs = wakeJobs({ events: groups, byEndpoint: new Map([['x', ids('x', 3)]]) }, 7);
  const { pairs, sizes } = unpack(jobs);
  // 5 events x 3 targets: 2 events (6) a job; the third job has room for the 1 left (3), the
  // other group's 2 (2) and 2 of the ids; the last takes the third id.
  assert.deepEqual(sizes, [6, 6, 7, 1]);
  assert.deepEqual(
    pairs,
    groups.flatMap(([events, ts]) =>
      events.flatMap((ev) => ts.map(([ep, n]) => `${ev}>${ep}#${n}`)),
    ),
  );
  assert.deepEqual(
    jobs.map((j) => j.e ?? []),
    [[], [], [['x', ['x0', 'x1']]], [['x', ['x2']]]],
  );
});

test('wakeJobs: a fan-out larger than a job goes one event a job; a group without targets adds none', () => {
  const targets = Array.from({ length: 5 }, (_, i): [string, number] => [`ep${i}`, i]);
  const jobs = wakeJobs(
    {
      events: [
        [['only'], []],
        [ids('e', 3), targets],
      ],
      byEndpoint: new Map(),
    },
    4,
  );
  assert.deepEqual(unpack(jobs).sizes, [5, 5, 5]);
  assert.deepEqual(
    jobs.map((j) => j.g!.map(([events]) => events)),
    [[['e0']], [['e1']], [['e2']]],
  );
});
