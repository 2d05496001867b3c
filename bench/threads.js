#!/usr/bin/env node
// Where `npm start`'s time goes, thread by thread: CPU per delivery of each thread of the Tern
// process (the API's event loop, the dispatcher thread, V8's helper threads) and of Postgres, and
// how long each spent running against waiting for a core (/proc/<tid>/schedstat: runnable but not
// running). A thread that waits as long as it runs is slowed by the machine, not by its own work.
//
//   node bench/threads.js [--single] [--dead | --paused] [--events N] [--healthy N]   (after npm run build)
//
// --single: single events from 32 callers (default: the batch route, 100 a call, 8 callers);
// --dead: as many endpoints that never answer beside the healthy ones (DELIVERY_TIMEOUT_MS=2000);
// --paused: as --dead, but those endpoints are disabled, so their deliveries are written (paused)
// and never woken, claimed or sent: what writing a dead endpoint's rows costs, without dispatching.
// Threads are keyed by id (`main` is the API's event loop; the dispatcher thread is the busiest other
// one; the four alike are V8's helpers: garbage collection and compilation).
// One discarded warm-up of a quarter of the events first. Linux only (/proc).
'use strict';
const { readFileSync, readdirSync } = require('node:fs');
const lib = require('./lib');

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} takes a whole number above 0`);
  return n;
};
const SINGLE = flag('--single');
const PAUSED = flag('--paused');
const DEAD = flag('--dead') || PAUSED;
const HEALTHY = option('--healthy', SINGLE ? 10 : 5);
const EVENTS = option('--events', SINGLE ? 3_000 : 4_000);
const PAYLOAD = Number(process.env.BENCH_PAYLOAD || 512);

/** CPU seconds and schedstat (run, wait: seconds) of every thread of `pid`, by thread id. */
function threadsOf(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')
        .split(' ')
        .map(Number);
      out[tid] = { cpu: (Number(f[11]) + Number(f[12])) / 100, run: run / 1e9, wait: wait / 1e9 };
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Summed schedstat of every postgres process. */
function postgresSched() {
  const out = { run: 0, wait: 0 };
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() !== 'postgres') continue;
      const [run, wait] = readFileSync(`/proc/${p}/schedstat`, 'utf8').split(' ').map(Number);
      out.run += run / 1e9;
      out.wait += wait / 1e9;
    } catch {
      // the process ended
    }
  }
  return out;
}

(async () => {
  const receiver = await lib.startReceiver();
  const db = `tern_bench_threads_${process.pid}`;
  const dbUrl = await lib.createDatabase(db);
  const tern = await lib.startTern('all', {
    DATABASE_URL: dbUrl,
    QUEUE_PREFIX: `bench_threads_${process.pid}`,
    DELIVERY_TIMEOUT_MS: '2000',
  });
  const { Client } = require('pg');
  const pg = new Client({ connectionString: dbUrl });
  try {
    const api = lib.client(tern.url);
    const pid = tern.procs[0].pid;
    await pg.connect();
    /** The deliveries table (lib.deliveriesTable), once Postgres' backends have counted. */
    const table = async () => {
      // An idle backend reports its counts within 10 s (PGSTAT_IDLE_INTERVAL), a busy one sooner.
      await new Promise((r) => setTimeout(r, 11_000));
      return lib.deliveriesTable(pg);
    };
    await api('PUT', '/v1/event-types', [{ name: 'bench.order', category: 'bench' }]);
    let written = 0; // deliveries written so far, the warm-up's included
    const run = async (tenantId, events, dead) => {
      await api('POST', '/v1/tenants', { id: tenantId, name: tenantId });
      const urls = Array.from({ length: HEALTHY }, (_, i) => `${receiver.url}/ok/${tenantId}/${i}`);
      if (dead)
        urls.push(
          ...Array.from({ length: HEALTHY }, (_, i) => `${receiver.url}/dead/${tenantId}/${i}`),
        );
      for (const url of urls)
        await api('POST', `/v1/tenants/${tenantId}/endpoints`, {
          url,
          eventTypes: ['bench.*'],
          ...(PAUSED && url.includes('/dead/') ? { enabled: false } : {}),
        });
      await receiver.reset();
      const tableBefore = await table();
      const t0 = Date.now();
      const before = {
        threads: threadsOf(pid),
        pg: postgresSched(),
        pgCpu: lib.commandCpu('postgres'),
      };
      await lib.ingest(api, tenantId, events, SINGLE ? 0 : 100, PAYLOAD);
      const ingestMs = Date.now() - t0;
      const done = await lib.waitReceived(receiver, events * HEALTHY, 600_000);
      const seconds = (done.at - t0) / 1000;
      const after = {
        threads: threadsOf(pid),
        pg: postgresSched(),
        pgCpu: lib.commandCpu('postgres'),
      };
      const n = events * HEALTHY;
      const tableAfter = await table();
      written += n * (dead ? 2 : 1);
      const threads = {};
      for (const [tid, b] of Object.entries(after.threads)) {
        const a = before.threads[tid] ?? { cpu: 0, run: 0, wait: 0 };
        if (b.cpu - a.cpu < 0.05) continue; // idle threads
        threads[tid === String(pid) ? 'main' : tid] = {
          cpuUsPerDelivery: Math.round(((b.cpu - a.cpu) / n) * 1e6),
          runningPerSec: Number(((b.run - a.run) / seconds).toFixed(2)),
          waitingPerSec: Number(((b.wait - a.wait) / seconds).toFixed(2)),
        };
      }
      return {
        bench: 'threads',
        ingest: SINGLE ? 'single events' : 'batch of 100',
        healthyEndpoints: HEALTHY,
        deadEndpoints: DEAD ? HEALTHY : 0,
        deadEndpointsDisabled: PAUSED,
        events,
        ingestMs,
        healthyDeliveredPerSec: Math.round(n / seconds),
        ternThreads: threads,
        // The whole table so far (warm-up included), per delivery written to it.
        deliveriesBytesPerDelivery: {
          heap: Math.round(tableAfter.heapBytes / written),
          withIndexes: Math.round(tableAfter.totalBytes / written),
        },
        hotUpdatesPct: Math.round(
          (100 * (tableAfter.hotUpdates - tableBefore.hotUpdates)) /
            Math.max(1, tableAfter.updates - tableBefore.updates),
        ),
        postgres: {
          cpuUsPerDelivery: Math.round(((after.pgCpu - before.pgCpu) / n) * 1e6),
          runningPerSec: Number(((after.pg.run - before.pg.run) / seconds).toFixed(2)),
          waitingPerSec: Number(((after.pg.wait - before.pg.wait) / seconds).toFixed(2)),
        },
      };
    };
    // JIT and pools warm, discarded; healthy endpoints only, so no dead backlog carries over.
    await run('threads_warmup', Math.ceil(EVENTS / 4), false);
    console.log(JSON.stringify(await run('threads', EVENTS, DEAD)));
  } finally {
    await pg.end().catch(() => undefined);
    await tern.stop();
    await lib.dropDatabase(db);
    await receiver.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
