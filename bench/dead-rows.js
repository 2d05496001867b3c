#!/usr/bin/env node
// What one delivery row for an endpoint that never answers costs, with nothing else going on: the
// same events (BENCH_EVENTS, default 8,000, batch route) to D and to 2D such endpoints (BENCH_DEAD,
// default 5), each on a fresh `npm start` and database after a warm-up to healthy endpoints, CPU
// counted from the first trigger until BENCH_SETTLE_MS (default 3,000) after the last (the first
// attempts time out meanwhile: DELIVERY_TIMEOUT_MS=2000). The difference over the D x events rows
// more is the cost of one: Tern (all threads), Postgres (all processes) and Redis. Prints one JSON
// line; BENCH_REPEATS (default 2) pairs, medians.
//   npm run build && node bench/dead-rows.js
'use strict';
const { execSync } = require('node:child_process');
const lib = require('./lib');

const EVENTS = Number(process.env.BENCH_EVENTS || 8_000);
const D = Number(process.env.BENCH_DEAD || 5);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS || 3_000);
const REPEATS = Number(process.env.BENCH_REPEATS || 2);

/** CPU seconds (Tern, Postgres, Redis) that `dead` never-answering endpoints' EVENTS events cost. */
async function cost(receiver, dead) {
  const { tern, api, close } = await lib.freshTern(`dead_rows_${dead}`, {
    DELIVERY_TIMEOUT_MS: '2000',
  });
  try {
    const urls = (kind, n) => Array.from({ length: n }, (_, i) => `${receiver.url}/${kind}/${i}`);
    await lib.tenantWithEndpoints(api, 'warm', urls('ok', D)); // JIT and pools warm
    await lib.ingest(api, 'warm', 2_000, 100, 512);
    await lib.waitReceived(receiver, 2_000 * D, 60_000);
    await lib.tenantWithEndpoints(api, 'dead', urls('dead', dead));
    await receiver.reset();
    const redisPid = Number(execSync('pgrep -x -o redis-server').toString().trim());
    const now = () => ({
      tern: lib.cpuOf(tern.procs[0].pid),
      postgres: lib.commandCpu('postgres'),
      redis: lib.cpuOf(redisPid),
    });
    const before = now();
    await lib.ingest(api, 'dead', EVENTS, 100, 512);
    await lib.sleep(SETTLE_MS);
    const after = now();
    return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
  } finally {
    await close();
  }
}

(async () => {
  const receiver = await lib.startReceiver();
  try {
    const runs = [];
    for (let rep = 0; rep < REPEATS; rep++) {
      const one = await cost(receiver, D);
      const two = await cost(receiver, 2 * D);
      const us = (k) => Math.round(((two[k] - one[k]) / (D * EVENTS)) * 1e7) / 10;
      runs.push({ tern: us('tern'), postgres: us('postgres'), redis: us('redis') });
    }
    const med = (k) => lib.median(runs.map((r) => r[k]));
    console.log(
      JSON.stringify({
        bench: 'dead-rows',
        events: EVENTS,
        deadEndpoints: [D, 2 * D],
        usPerDeadRow: { tern: med('tern'), postgres: med('postgres'), redis: med('redis') },
        repetitions: runs,
      }),
    );
  } finally {
    await receiver.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
