#!/usr/bin/env node
// The fault run (`npm run build && node bench/faults.js`): FAULTS_EVENTS events (default 5,000)
// paced over FAULTS_SECONDS (default 60) against an API process and a worker process that reach
// Postgres through a TCP proxy, with faults in sequence while events pour in:
//   1. kill -9 the worker mid-stream;
//   2. while no worker runs (wake-ups pile up in the queue), wipe the queue's Redis keys (only
//      those under its own QUEUE_PREFIX), then start a new worker;
//   3. cut Postgres (the proxy refuses and resets) for FAULTS_PG_CUT_MS (default 6 s);
//   4. the receiver resets the connection of 2 requests in 3 for 10 s.
// The client behaves as the docs ask: on 503 (or no answer) it waits Retry-After and retries with
// the same idempotency key. Prints one JSON line: events accepted (2xx), delivered at least once,
// lost (must be 0), duplicate sends, 503s seen, time to drain. Exits 1 if anything was lost.
'use strict';
const { Agent, request } = require('undici');
const Redis = require('ioredis');
const { Client } = require('pg');
const lib = require('./lib');

const N = Number(process.env.FAULTS_EVENTS || 5_000);
const SECONDS = Number(process.env.FAULTS_SECONDS || 60);
const PG_CUT_MS = Number(process.env.FAULTS_PG_CUT_MS || 6_000);
const DRAIN_TIMEOUT_MS = Number(process.env.FAULTS_DRAIN_TIMEOUT_MS || 300_000);
const ENDPOINTS = 2;
const TENANT = 'faults';

let T0 = Date.now();
const log = (msg) =>
  process.stderr.write(`[faults +${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);

async function wipeQueue(redis, prefix) {
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) removed += await redis.del(...keys);
  } while (cursor !== '0');
  return removed;
}

/** Triggers one event until it gets a 202, as a careful client would; counts every answer. */
function makeSender(baseUrl, answers, accepted) {
  const agent = new Agent({ connections: 256, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const send = async (i) => {
    const key = `fault-${i}`;
    const body = JSON.stringify({ type: 'bench.order', data: lib.payload(256, i) });
    for (;;) {
      let status = 0;
      let json = null;
      let retryAfter = null;
      try {
        const res = await request(`${baseUrl}/v1/tenants/${TENANT}/events`, {
          method: 'POST',
          dispatcher: agent,
          headers: {
            authorization: `Bearer ${lib.ADMIN_KEY}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body,
        });
        status = res.statusCode;
        retryAfter = Number(res.headers['retry-after']) || null;
        const text = await res.body.text();
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
      } catch (e) {
        json = String(e.message);
      }
      answers[status] = (answers[status] || 0) + 1;
      if (status === 503) answers.delayedKeys.add(key);
      if (status >= 200 && status < 300) {
        accepted.set(json.id, { key, at: Date.now() });
        return;
      }
      if (status === 503 && /may or may not/.test(json?.message ?? '')) answers.lostCommit++;
      if (status !== 503 && status !== 0 && status !== 429) {
        answers.unexpected.push({ status, body: json });
        if (status < 500) return; // a 4xx will not get better: reported, not retried
      }
      await lib.sleep((retryAfter ?? 1) * 1000);
    }
  };
  return { send, close: () => agent.close() };
}

async function main() {
  const receiver = await lib.startReceiver();
  const pgPort = Number(
    new URL(process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres').port || 5432,
  );
  const proxy = await lib.startTcpProxy(pgPort);
  const dbName = `tern_bench_faults_${process.pid}`;
  const dbUrl = await lib.createDatabase(dbName);
  const prefix = `bench_faults_${process.pid}`;
  const redis = new Redis(lib.REDIS_URL);
  const pg = new Client({ connectionString: dbUrl }); // direct, for counting
  await pg.connect();
  const tern = await lib.startTern('api', {
    DATABASE_URL: proxy.url(dbUrl),
    QUEUE_PREFIX: prefix,
    RETRY_SCHEDULE: '500ms,1s,2s,5s,10s,20s',
    DELIVERY_TIMEOUT_MS: '5000',
    LEASE_MARGIN_MS: '3000',
    SWEEP_INTERVAL_MS: '1000',
  });
  let worker = tern.startWorker();
  const faults = [];
  const answers = { lostCommit: 0, unexpected: [], delayedKeys: new Set() };
  const accepted = new Map(); // event id -> {key, at}
  const sender = makeSender(tern.url, answers, accepted);
  try {
    const api = lib.client(tern.url);
    await api('PUT', '/v1/event-types', [{ name: 'bench.order', category: 'bench' }]);
    await api('POST', '/v1/tenants', { id: TENANT, name: TENANT });
    const paths = Array.from({ length: ENDPOINTS }, (_, i) => `/ok/${i}`);
    for (const p of paths)
      await api('POST', `/v1/tenants/${TENANT}/endpoints`, {
        url: receiver.url + p,
        eventTypes: ['bench.*'],
      });
    await receiver.reset();

    T0 = Date.now();
    const at = (fraction) => lib.sleep(Math.max(0, T0 + fraction * SECONDS * 1000 - Date.now()));
    const script = (async () => {
      await at(0.13);
      const received = (await receiver.stats()).unique;
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      tern.procs.splice(tern.procs.indexOf(worker), 1);
      faults.push({
        atS: (Date.now() - T0) / 1000,
        fault: 'worker killed (SIGKILL)',
        receivedBefore: received,
      });
      log('worker killed with SIGKILL');
      // While no worker runs, wake-ups pile up in the queue: wipe them all.
      await lib.sleep(1_500);
      const removed = await wipeQueue(redis, prefix);
      faults.push({
        atS: (Date.now() - T0) / 1000,
        fault: `queue keys wiped while no worker runs (${removed} keys under ${prefix}:)`,
      });
      log(`wiped ${removed} queue keys`);
      await lib.sleep(500);
      worker = tern.startWorker();
      faults.push({ atS: (Date.now() - T0) / 1000, fault: 'new worker started' });
      log('new worker started');
      await at(0.43);
      await proxy.pause();
      faults.push({ atS: (Date.now() - T0) / 1000, fault: `Postgres cut for ${PG_CUT_MS} ms` });
      log('Postgres cut');
      await lib.sleep(PG_CUT_MS);
      await proxy.resume();
      log('Postgres back');
      await at(0.67);
      await receiver.flaky(3);
      faults.push({
        atS: (Date.now() - T0) / 1000,
        fault: 'receiver resets 2 connections in 3 for 10 s',
      });
      log('receiver flaky');
      await lib.sleep(10_000);
      await receiver.flaky(0);
      log('receiver healthy');
    })();

    // The load: event i leaves at T0 + i * SECONDS / N, whatever happens to the ones before it.
    const sends = [];
    for (let i = 0; i < N; i++) {
      await lib.sleep(Math.max(0, T0 + (i * SECONDS * 1000) / N - Date.now()));
      sends.push(sender.send(i));
    }
    await Promise.all(sends);
    await script;
    const lastAcceptedAt = Math.max(...[...accepted.values()].map((a) => a.at));
    log(`load done: ${accepted.size} accepted; draining`);

    // Drain: every accepted event at every endpoint.
    const want = accepted.size * ENDPOINTS;
    let drainedAt = null;
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const s = await receiver.stats();
      if (s.unique >= want) {
        drainedAt = Date.now();
        break;
      }
      await lib.sleep(100);
    }
    await lib.sleep(2_000); // late duplicates, if any, land in the count
    const stats = await receiver.stats();
    const got = new Set((await receiver.dump()).map(([k]) => k));
    let lostEvents = 0;
    let lostDeliveries = 0;
    for (const id of accepted.keys()) {
      const missing = paths.filter((p) => !got.has(`${id}|${p}`)).length;
      lostDeliveries += missing;
      if (missing) lostEvents++;
    }
    const rows = await pg.query(
      `SELECT (SELECT count(*) FROM events WHERE tenant_id = $1)::int AS events,
              (SELECT count(*) FROM attempts)::int AS attempts,
              (SELECT count(*) FROM attempts WHERE error LIKE 'no result:%')::int AS expired,
              (SELECT json_object_agg(status, n) FROM
                 (SELECT status, count(*)::int AS n FROM deliveries GROUP BY status) s) AS deliveries`,
      [TENANT],
    );
    const r = rows.rows[0];
    const result = {
      bench: 'faults',
      events: N,
      endpoints: ENDPOINTS,
      seconds: SECONDS,
      accepted: accepted.size,
      deliveredAtLeastOnce: accepted.size - lostEvents,
      lost: lostEvents,
      lostDeliveries,
      duplicates: stats.total - stats.unique,
      sends: stats.total,
      receiverResets: stats.resets,
      answers503: answers[503] || 0,
      eventsThatSaw503: answers.delayedKeys.size,
      answersWithoutResponse: answers[0] || 0,
      lostCommitAnswers: answers.lostCommit,
      unexpectedAnswers: answers.unexpected.length,
      drainSeconds:
        drainedAt === null ? null : Number(((drainedAt - lastAcceptedAt) / 1000).toFixed(1)),
      storedEvents: r.events,
      deliveryRows: r.deliveries,
      attemptRows: r.attempts,
      leasesExpired: r.expired,
      faults,
    };
    if (answers.unexpected.length)
      log(`unexpected answers: ${JSON.stringify(answers.unexpected.slice(0, 5))}`);
    console.log(JSON.stringify(result));
    return lostEvents === 0 && r.events === accepted.size && answers.unexpected.length === 0;
  } finally {
    await sender.close();
    await tern.stop();
    await proxy.close();
    await pg.end().catch(() => undefined);
    await wipeQueue(redis, prefix).catch(() => undefined);
    await redis.quit();
    await receiver.stop();
    await lib.dropDatabase(dbName);
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
