#!/usr/bin/env node
// CPU cost per event and per delivery, by process: where the machine's two cores go. Throughput on
// a shared machine is (cores) / (CPU per delivery summed over every process), so this says which
// part to make cheaper, and shows a change's effect with far less noise than a rate does.
//
//   node bench/cost.js            (after npm run build)
//
// 1. ingest: an API process alone (TERN_ROLE=api) takes COST_EVENTS single events from 32 callers
//    (and the same again through the batch route, 100 a call); CPU of the API process and of every
//    Postgres process per event, after a discarded warm-up.
// 2. drain: a worker then sends what is pending; its CPU and Postgres' are counted from the first
//    receipt to the last, so the worker's start-up is left out.
// 3. stream: COST_EVENTS single events again while that worker runs, until all are received: API,
//    worker and Postgres CPU per delivery, the mix of `npm run start:api` + `start:worker`.
// Settings: COST_EVENTS (default 5000), BENCH_ENDPOINTS (10), BENCH_PAYLOAD (512).
'use strict';
const lib = require('./lib');

const EVENTS = Number(process.env.COST_EVENTS || 5_000);
const E = Number(process.env.BENCH_ENDPOINTS || 10);
const PAYLOAD = Number(process.env.BENCH_PAYLOAD || 512);
const { cpuOf } = lib;
const postgresCpu = () => lib.commandCpu('postgres');

const us = (seconds, n) => Math.round((seconds / n) * 1e6);

const ingest = (api, tenantId, events, batch) => lib.ingest(api, tenantId, events, batch, PAYLOAD);

(async () => {
  const receiver = await lib.startReceiver();
  const db = `tern_bench_cost_${process.pid}`;
  const dbUrl = await lib.createDatabase(db);
  const tern = await lib.startTern('api', {
    DATABASE_URL: dbUrl,
    QUEUE_PREFIX: `bench_cost_${process.pid}`,
  });
  try {
    const api = lib.client(tern.url);
    const apiPid = tern.procs[0].pid;
    await api('PUT', '/v1/event-types', [{ name: 'bench.order', category: 'bench' }]);
    await api('POST', '/v1/tenants', { id: 'cost', name: 'cost' });
    for (let i = 0; i < E; i++)
      await api('POST', '/v1/tenants/cost/endpoints', {
        url: `${receiver.url}/ok/${i}`,
        eventTypes: ['bench.*'],
      });
    await ingest(api, 'cost', 500, 0); // warm-up: JIT, pools, caches
    let events = 500;
    for (const batch of [0, 100]) {
      const a0 = cpuOf(apiPid);
      const p0 = postgresCpu();
      const t0 = performance.now();
      await ingest(api, 'cost', EVENTS, batch);
      const seconds = (performance.now() - t0) / 1000;
      await lib.sleep(200); // let Postgres finish what follows a commit
      events += EVENTS;
      console.log(
        JSON.stringify({
          bench: 'cost',
          phase: 'ingest',
          ingest: batch ? `batch of ${batch}` : 'single events',
          events: EVENTS,
          endpoints: E,
          eventsPerSec: Math.round(EVENTS / seconds),
          apiCpuUsPerEvent: us(cpuOf(apiPid) - a0, EVENTS),
          postgresCpuUsPerEvent: us(postgresCpu() - p0, EVENTS),
        }),
      );
    }

    const deliveries = events * E;
    await receiver.reset();
    const worker = tern.startWorker();
    let first;
    for (;;) {
      const s = await receiver.stats();
      if (s.unique > 0) {
        first = { received: s.unique, worker: cpuOf(worker.pid), postgres: postgresCpu() };
        break;
      }
      await lib.sleep(5);
    }
    const bootCpu = first.worker;
    const t0 = performance.now();
    const done = await lib.waitReceived(receiver, deliveries, 600_000);
    const n = deliveries - first.received;
    console.log(
      JSON.stringify({
        bench: 'cost',
        phase: 'drain',
        deliveries: n,
        deliveredPerSec: Math.round(n / ((performance.now() - t0) / 1000)),
        workerStartCpuSeconds: bootCpu,
        workerCpuUsPerDelivery: us(cpuOf(worker.pid) - first.worker, n),
        postgresCpuUsPerDelivery: us(postgresCpu() - first.postgres, n),
        duplicates: done.stats.total - done.stats.unique,
      }),
    );

    // Both at once, as in production: single events streaming in while the worker sends them.
    await receiver.reset();
    const s0 = { api: cpuOf(apiPid), worker: cpuOf(worker.pid), postgres: postgresCpu() };
    const t1 = performance.now();
    await ingest(api, 'cost', EVENTS, 0);
    const streamed = await lib.waitReceived(receiver, EVENTS * E, 600_000);
    const m = EVENTS * E;
    console.log(
      JSON.stringify({
        bench: 'cost',
        phase: 'stream',
        deliveries: m,
        deliveredPerSec: Math.round(m / ((performance.now() - t1) / 1000)),
        apiCpuUsPerDelivery: us(cpuOf(apiPid) - s0.api, m),
        workerCpuUsPerDelivery: us(cpuOf(worker.pid) - s0.worker, m),
        postgresCpuUsPerDelivery: us(postgresCpu() - s0.postgres, m),
        duplicates: streamed.stats.total - streamed.stats.unique,
      }),
    );
  } finally {
    await tern.stop();
    await lib.dropDatabase(db);
    await receiver.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
