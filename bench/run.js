#!/usr/bin/env node
// Benchmarks (npm run bench [-- ceiling tern isolation backlog]). Each prints one JSON line.
// The ceiling and Tern runs use the same receiver process in the same run, so their ratio is fair.
// Sizes: BENCH_N (deliveries, default 20000), BENCH_C (ceiling concurrency, default 64),
// BENCH_ENDPOINTS (default 10), BENCH_BACKLOG (default 100000), BENCH_WARMUP (events discarded
// before each Tern run, default a quarter of its events), BENCH_REPEATS (default 3),
// BENCH_ISOLATION_REPEATS (isolation pairs, default 5), BENCH_TERN_MODES (the tern suite's runs,
// default single,batch,split).
'use strict';
const { execFile: execFileCb } = require('node:child_process');
const { join } = require('node:path');
const { promisify } = require('node:util');
const execFile = promisify(execFileCb);
const Redis = require('ioredis');
const { Client } = require('pg');
const lib = require('./lib');

const N = Number(process.env.BENCH_N || 20_000);
const C = Number(process.env.BENCH_C || 64);
const E = Number(process.env.BENCH_ENDPOINTS || 10);
const BACKLOG = Number(process.env.BENCH_BACKLOG || 100_000);
const PAYLOAD = Number(process.env.BENCH_PAYLOAD || 512);
/** Repetitions of each Tern run and of the isolation pair; medians are reported. */
const REPEATS = Number(process.env.BENCH_REPEATS || 3);
/**
 * Isolation pairs. A pair's two runs are separate processes a few seconds apart, and this machine's
 * CPU time per unit of work drifts by a sixth from one run to the next, so the ratio wants more
 * pairs than a single figure does; each pair alternates which run goes first.
 */
const ISOLATION_REPEATS = Number(process.env.BENCH_ISOLATION_REPEATS || 5);
/** Concurrent callers triggering single events (the batch route uses 8). */
const LANES = Number(process.env.BENCH_LANES || 32);
/** Events sent and discarded before each Tern run is measured (default: a quarter of the run). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? Math.ceil(N / E / 4));
const suites = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['ceiling', 'tern', 'isolation', 'backlog'];

const emit = (o) => console.log(JSON.stringify(o));

/** The ceiling (bench/ceiling.js), in a fresh process with the warm-up each Tern run gets. */
async function ceiling(receiver) {
  const { stdout } = await execFile(process.execPath, [
    join(__dirname, 'ceiling.js'),
    receiver.url,
    String(N),
    String(C),
    String(PAYLOAD),
    String(E),
    String(WARMUP * E),
  ]);
  return JSON.parse(stdout.trim().split('\n').pop());
}

async function setupTenant(api, tenantId, paths) {
  await api('PUT', '/v1/event-types', [{ name: 'bench.order', category: 'bench' }]).catch(
    () => undefined,
  );
  await api('POST', '/v1/tenants', { id: tenantId, name: tenantId });
  const endpoints = [];
  for (const p of paths) {
    endpoints.push(
      await api('POST', `/v1/tenants/${tenantId}/endpoints`, { url: p, eventTypes: ['bench.*'] }),
    );
  }
  return endpoints;
}

/** Triggers `events` events through the API with `lanes` concurrent callers; returns start times per event id. */
async function trigger(api, tenantId, events, lanes = 32, batch = 0) {
  const started = new Map();
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < events) {
      if (batch > 0) {
        const from = next;
        next += batch;
        const items = [];
        for (let i = from; i < Math.min(from + batch, events); i++)
          items.push({ type: 'bench.order', data: lib.payload(PAYLOAD, i) });
        const at = Date.now();
        const res = await api('POST', `/v1/tenants/${tenantId}/events/batch`, { events: items });
        for (const e of res.data) started.set(e.id, at);
      } else {
        const i = next++;
        const at = Date.now();
        const res = await api('POST', `/v1/tenants/${tenantId}/events`, {
          type: 'bench.order',
          data: lib.payload(PAYLOAD, i),
        });
        started.set(res.id, at);
      }
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return { started, ingestSeconds: (performance.now() - t0) / 1000, t0 };
}

async function latencies(receiver, started, pathPrefix) {
  const lat = [];
  let dup = 0;
  for (const [key, [at, count]] of await receiver.dump()) {
    const [id, path] = key.split('|');
    if (pathPrefix && !path.startsWith(pathPrefix)) continue;
    const s = started.get(id);
    if (s !== undefined) lat.push(at - s);
    dup += count - 1;
  }
  lat.sort((a, b) => a - b);
  return { p50: lib.percentile(lat, 50), p99: lib.percentile(lat, 99), duplicates: dup };
}

/**
 * Tern runs, each between two ceiling runs on the same receiver; a run's ratio is to the mean of the
 * two, the machine's pace around it. The machine's pace drifts by a fifth from minute to minute
 * here, so the line reports every repetition and the median ratio.
 */
async function ternBetweenCeilings(receiver, mode, batch) {
  const reps = [];
  for (let rep = 0; rep < REPEATS; rep++) {
    const before = await ceiling(receiver);
    const result = await ternRun(receiver, mode, batch);
    const after = await ceiling(receiver);
    const ceilingPerSec = (before.deliveredPerSec + after.deliveredPerSec) / 2;
    reps.push({
      ...result,
      ceilingBeforePerSec: Math.round(before.deliveredPerSec),
      ceilingAfterPerSec: Math.round(after.deliveredPerSec),
      ratioToCeiling: Number((result.deliveredPerSec / ceilingPerSec).toFixed(3)),
    });
  }
  const median = (f) => lib.median(reps.map(f));
  const first = reps[0];
  emit({
    bench: 'tern',
    mode: first.mode,
    ingest: first.ingest,
    warmupEvents: first.warmupEvents,
    events: first.events,
    endpoints: first.endpoints,
    deliveries: first.deliveries,
    ingestPerSec: median((r) => r.ingestPerSec),
    deliveredPerSec: median((r) => r.deliveredPerSec),
    p50Ms: median((r) => r.p50Ms),
    p99Ms: median((r) => r.p99Ms),
    duplicates: reps.reduce((n, r) => n + r.duplicates, 0),
    ratioToCeiling: median((r) => r.ratioToCeiling),
    repetitions: reps.map((r) => ({
      ingestPerSec: r.ingestPerSec,
      deliveredPerSec: r.deliveredPerSec,
      p99Ms: r.p99Ms,
      ceilingBeforePerSec: r.ceilingBeforePerSec,
      ceilingAfterPerSec: r.ceilingAfterPerSec,
      ratioToCeiling: r.ratioToCeiling,
    })),
  });
}

async function ternRun(receiver, mode, batch) {
  const db = `tern_bench_${process.pid}`;
  const dbUrl = await lib.createDatabase(db);
  const tern = await lib.startTern(mode, {
    DATABASE_URL: dbUrl,
    QUEUE_PREFIX: `bench_${process.pid}_${mode}`,
  });
  try {
    const api = lib.client(tern.url);
    const events = Math.ceil(N / E);
    await setupTenant(
      api,
      'bench',
      Array.from({ length: E }, (_, i) => `${receiver.url}/ok/${i}`),
    );
    // A discarded warm-up first (JIT, connection pools, the tables' first statistics): the run
    // measures Tern as it runs for days, not its first seconds.
    if (WARMUP > 0) {
      await receiver.reset();
      await trigger(api, 'bench', WARMUP, LANES, batch);
      await lib.waitReceived(receiver, WARMUP * E, 600_000);
    }
    await receiver.reset();
    const t0 = Date.now();
    const { started, ingestSeconds } = await trigger(api, 'bench', events, LANES, batch);
    const done = await lib.waitReceived(receiver, events * E, 600_000);
    const seconds = (done.at - t0) / 1000;
    const lat = await latencies(receiver, started);
    const result = {
      bench: 'tern',
      mode: mode === 'all' ? 'npm start (one process)' : 'api + worker',
      ingest: batch ? `batch of ${batch}` : 'single events',
      warmupEvents: WARMUP,
      events,
      endpoints: E,
      deliveries: events * E,
      ingestPerSec: Math.round(events / ingestSeconds),
      deliveredPerSec: Math.round((events * E) / seconds),
      p50Ms: lat.p50,
      p99Ms: lat.p99,
      duplicates: lat.duplicates + (done.stats.total - done.stats.unique),
    };
    return result;
  } finally {
    await tern.stop();
    await lib.dropDatabase(db);
  }
}

/** CPU seconds so far of Tern's processes, Postgres, Redis, the receiver and this script. */
function cpuNow(tern, receiver) {
  const self = process.cpuUsage();
  return {
    tern: tern.procs.reduce((t, p) => t + lib.cpuOf(p.pid), 0),
    postgres: lib.commandCpu('postgres'),
    redis: lib.commandCpu('redis-server'),
    receiver: lib.cpuOf(receiver.pid),
    bench: (self.user + self.system) / 1e6,
  };
}

/**
 * CPU per delivery by process between two cpuNow readings, and the cores busy on average: the
 * machine is saturated when that nears its core count, and throughput is then cores / CPU.
 */
function cpuSince(a, b, deliveries, seconds) {
  const us = {};
  let total = 0;
  for (const k of Object.keys(a)) {
    us[k] = Math.round(((b[k] - a[k]) / deliveries) * 1e6);
    total += b[k] - a[k];
  }
  return { cpuUsPerDelivery: us, busyCores: Number((total / seconds).toFixed(2)) };
}

/**
 * Isolation: healthy endpoints alone, and the same beside as many that never answer. Every run is a
 * fresh Tern on a fresh database with a discarded warm-up, so the two differ only by the dead
 * endpoints (not by a table grown and never vacuumed in between); repeated, the median reported.
 */
async function isolation(receiver) {
  const half = Math.max(1, Math.floor(E / 2));
  const events = Math.ceil(N / half); // N healthy deliveries a run
  const isoRun = async (dead, rep) => {
    const db = `tern_bench_iso_${process.pid}`;
    const dbUrl = await lib.createDatabase(db);
    const tern = await lib.startTern('all', {
      DATABASE_URL: dbUrl,
      QUEUE_PREFIX: `bench_iso_${process.pid}_${rep}_${dead}`,
      DELIVERY_TIMEOUT_MS: '2000',
    });
    try {
      const api = lib.client(tern.url);
      const run = async (tenantId, withDead, count) => {
        const paths = [
          ...Array.from({ length: half }, (_, i) => `${receiver.url}/ok/${tenantId}/${i}`),
        ];
        if (withDead)
          paths.push(
            ...Array.from({ length: half }, (_, i) => `${receiver.url}/dead/${tenantId}/${i}`),
          );
        await setupTenant(api, tenantId, paths);
        await receiver.reset();
        const cpu0 = cpuNow(tern, receiver);
        const t0 = Date.now();
        // Batch ingestion, so the API is not what limits either run: the dispatcher is measured.
        const { started, ingestSeconds } = await trigger(api, tenantId, count, 8, 100);
        const done = await lib.waitReceived(receiver, count * half, 600_000);
        const cpu = cpuSince(cpu0, cpuNow(tern, receiver), count * half, (done.at - t0) / 1000);
        const lat = await latencies(receiver, started, '/ok/');
        return {
          deliveredPerSec: Math.round((count * half) / ((done.at - t0) / 1000)),
          ingestSeconds: Number(ingestSeconds.toFixed(2)),
          deliverySeconds: (done.at - t0) / 1000,
          p99Ms: lat.p99,
          duplicates: lat.duplicates,
          ...cpu,
        };
      };
      await run('iso_warmup', false, Math.ceil(events / 4)); // JIT and pools warm, discarded
      return await run(dead ? 'iso_beside' : 'iso_alone', dead, events);
    } finally {
      await tern.stop();
      await lib.dropDatabase(db);
    }
  };
  const reps = [];
  for (let rep = 0; rep < ISOLATION_REPEATS; rep++) {
    const besideFirst = rep % 2 === 1;
    const first = await isoRun(besideFirst, rep);
    const second = await isoRun(!besideFirst, rep);
    const [alone, beside] = besideFirst ? [second, first] : [first, second];
    reps.push({
      alone,
      beside,
      kept: Number((beside.deliveredPerSec / alone.deliveredPerSec).toFixed(3)),
    });
  }
  const { median } = lib;
  const sumUs = (run) => Object.values(run.cpuUsPerDelivery).reduce((a, b) => a + b, 0);
  const result = {
    bench: 'isolation',
    healthyEndpoints: half,
    deadEndpoints: half,
    eventsPerRun: events,
    repetitions: reps,
    throughputKept: median(reps.map((r) => r.kept)),
    p99AloneMs: median(reps.map((r) => r.alone.p99Ms)),
    p99BesideDeadMs: median(reps.map((r) => r.beside.p99Ms)),
    // Every process's CPU per healthy delivery, summed: what the dead endpoints' share costs.
    cpuUsPerHealthyDeliveryAlone: median(reps.map((r) => sumUs(r.alone))),
    cpuUsPerHealthyDeliveryBeside: median(reps.map((r) => sumUs(r.beside))),
  };
  emit(result);
  return result;
}

async function backlog(receiver) {
  const db = `tern_bench_backlog_${process.pid}`;
  const dbUrl = await lib.createDatabase(db);
  const prefix = `bench_backlog_${process.pid}`;
  const redis = new Redis(lib.REDIS_URL);
  const pg = new Client({ connectionString: dbUrl });
  const tern = await lib.startTern('api', { DATABASE_URL: dbUrl, QUEUE_PREFIX: prefix });
  try {
    const api = lib.client(tern.url);
    await setupTenant(
      api,
      'backlog',
      Array.from({ length: E }, (_, i) => `${receiver.url}/ok/${i}`),
    );
    const memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
    const events = Math.ceil(BACKLOG / E);
    const tIngest = Date.now();
    await trigger(api, 'backlog', events, 8, 100);
    const ingestSeconds = (Date.now() - tIngest) / 1000;
    const memAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
    await receiver.reset();
    const t0 = Date.now();
    tern.startWorker();
    const done = await lib.waitReceived(receiver, events * E, 1_800_000);
    const seconds = (done.at - t0) / 1000;
    await lib.sleep(1000);
    await pg.connect();
    const sizes = (
      await pg.query(`SELECT (SELECT count(*) FROM deliveries)::int AS deliveries, (SELECT count(*) FROM attempts)::int AS attempts,
              (SELECT count(*) FROM events)::int AS events,
              pg_total_relation_size('deliveries') + pg_total_relation_size('attempts') + pg_total_relation_size('events') AS bytes`)
    ).rows[0];
    const deliveries = events * E;
    const result = {
      bench: 'backlog',
      deliveries,
      ingestSeconds,
      drainSeconds: seconds,
      drainedPerSec: Math.round(deliveries / seconds),
      duplicates: done.stats.total - done.stats.unique,
      redisBytesPer1k: Math.round(((memAfter - memBefore) / deliveries) * 1000),
      postgresRowsPer1k: Math.round(
        ((sizes.deliveries + sizes.attempts + sizes.events) / deliveries) * 1000,
      ),
      postgresBytesPer1k: Math.round((Number(sizes.bytes) / deliveries) * 1000),
    };
    emit(result);
    return result;
  } finally {
    await pg.end().catch(() => undefined);
    await tern.stop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await lib.dropDatabase(db);
  }
}

(async () => {
  const receiver = await lib.startReceiver();
  try {
    if (suites.includes('ceiling')) {
      const c = await ceiling(receiver);
      emit({
        bench: 'ceiling',
        deliveries: c.deliveries,
        concurrency: C,
        deliveredPerSec: Math.round(c.deliveredPerSec),
      });
    }
    if (suites.includes('tern')) {
      const modes = (process.env.BENCH_TERN_MODES || 'single,batch,split')
        .split(',')
        .map((m) => m.trim());
      const unknown = modes.filter((m) => !['single', 'batch', 'split'].includes(m));
      if (unknown.length) throw new Error(`BENCH_TERN_MODES: unknown ${unknown.join(', ')}`);
      if (modes.includes('single')) await ternBetweenCeilings(receiver, 'all', 0);
      if (modes.includes('batch')) await ternBetweenCeilings(receiver, 'all', 100);
      if (modes.includes('split')) await ternBetweenCeilings(receiver, 'split', 0);
    }
    if (suites.includes('isolation')) await isolation(receiver);
    if (suites.includes('backlog')) await backlog(receiver);
  } finally {
    await receiver.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
