// Shared pieces of the benchmarks: processes, a JSON client, databases, percentiles, CPU counters.
'use strict';
const { fork, spawn } = require('node:child_process');
const { basename, join } = require('node:path');
const { createServer, connect } = require('node:net');
const { Client } = require('pg');
const { readFileSync, readdirSync, readlinkSync } = require('node:fs');

const ROOT = join(__dirname, '..');
const PG_ADMIN = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ADMIN_KEY = 'bench_admin_key_0123456789abcdef';
/** The node flags `npm start` gives Tern (package.json), so the bench runs it as a user does. */
const START_FLAGS = /node ((?:--\S+ )*)dist\/src\/main\.js/
  .exec(require('../package.json').scripts.start)[1]
  .split(' ')
  .filter(Boolean);
/** Extra node flags for Tern's processes, e.g. BENCH_TERN_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof". */
const NODE_ARGS = [
  ...START_FLAGS,
  ...(process.env.BENCH_TERN_NODE_ARGS || '').split(' ').filter(Boolean),
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * The median of numbers in any order; of an even count, the mean of the two middle ones (it was the
 * upper one until the seventh session, which made the median of two runs their maximum).
 */
function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  if (s.length % 2) return s[m];
  const mean = (s[m - 1] + s[m]) / 2;
  // As precise as the inputs: ratios keep their 3 decimals, whole counts stay whole.
  return Number.isInteger(s[m - 1]) && Number.isInteger(s[m])
    ? Math.round(mean)
    : Number(mean.toFixed(3));
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startReceiver() {
  const child = fork(join(__dirname, 'receiver.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (type, extra = {}) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m.type === type) {
          child.off('message', on);
          resolve(m);
        }
      };
      child.on('message', on);
      child.send({ type, ...extra });
    });
  const ready = await new Promise((resolve) => child.once('message', resolve));
  return {
    url: `http://127.0.0.1:${ready.port}`,
    pid: child.pid,
    stats: () => ask('stats'),
    dump: async () => (await ask('dump')).receipts,
    reset: () => ask('reset'),
    /** Resets the connection of all but one request in `resetEvery` (0: answer every request). */
    flaky: (resetEvery) => ask('mode', { resetEvery }),
    stop: () => {
      child.send({ type: 'stop' });
      return new Promise((r) => child.once('exit', r));
    },
  };
}

/**
 * A TCP proxy on 127.0.0.1 in front of `targetPort`, to cut a dependency without touching it:
 * `pause()` refuses new connections and resets the open ones, `resume()` listens on the same port.
 */
async function startTcpProxy(targetPort) {
  const pairs = new Set();
  let server = null;
  let port = 0;
  const onConnection = (client) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1' });
    const pair = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.on('error', drop);
      s.on('close', drop);
    }
  };
  const listen = () =>
    new Promise((resolve, reject) => {
      const s = createServer(onConnection);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        port = s.address().port;
        resolve();
      });
    });
  const stop = () => {
    const s = server;
    server = null;
    const closed = s ? new Promise((r) => s.close(r)) : Promise.resolve();
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
    return closed;
  };
  await listen();
  return {
    get port() {
      return port;
    },
    url: (url) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    pause: stop,
    resume: () => (server ? Promise.resolve() : listen()),
    close: stop,
  };
}

/**
 * A fresh database. BENCH_DB_COLLATE (e.g. `C`) makes it in that collation instead of the
 * server's default, to measure what text comparisons in Tern's indexes cost.
 */
async function createDatabase(name) {
  const c = new Client({ connectionString: PG_ADMIN });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  const collate = process.env.BENCH_DB_COLLATE;
  await c.query(
    `CREATE DATABASE ${name}` +
      (collate ? ` TEMPLATE template0 LC_COLLATE '${collate}' LC_CTYPE '${collate}'` : ''),
  );
  await c.end();
  return PG_ADMIN.replace(/\/[^/]*$/, `/${name}`);
}

async function dropDatabase(name) {
  const c = new Client({ connectionString: PG_ADMIN });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.end();
}

/** Starts Tern: `all` (npm start), or `split` (an API and a worker process). */
async function startTern(mode, env) {
  const port = await freePort();
  const base = {
    ...process.env,
    NODE_ENV: 'production',
    ADMIN_API_KEY: ADMIN_KEY,
    REDIS_URL,
    PORT: String(port),
    HOST: '127.0.0.1',
    ALLOWED_TARGET_CIDRS: '127.0.0.0/8',
    API_RATE_LIMIT_PER_SECOND: '1000000',
    LOG_LEVEL: 'error',
    ENDPOINT_DISABLE_AFTER: '100000',
    ...env,
  };
  const procs = [];
  const run = (entry, role) => {
    const p = spawn(process.execPath, [...NODE_ARGS, join(ROOT, 'dist', 'src', entry)], {
      env: { ...base, TERN_ROLE: role },
      // Tern's logs (stdout) go to our stderr: our stdout holds only the JSON result lines.
      stdio: ['ignore', 2, 'inherit'],
    });
    procs.push(p);
    return p;
  };
  if (mode === 'all') run('main.js', 'all');
  else if (mode === 'api') run('main.js', 'api');
  else {
    run('main.js', 'api');
    await waitHealthy(`http://127.0.0.1:${port}`);
    run('worker.js', 'worker');
  }
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url);
  return {
    url,
    procs,
    startWorker: () => run('worker.js', 'worker'),
    stop: async () => {
      for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
      await Promise.all(
        procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : null)),
      );
      // The run's queue goes with it (retries of dead endpoints would stay in Redis for hours).
      if (base.QUEUE_PREFIX) await dropQueue(base.QUEUE_PREFIX);
    },
  };
}

/**
 * `npm start` on a database of its own (`name`, made afresh) with the bench.order event type in its
 * catalog; `close` stops it and drops the database. `env` adds to startTern's settings.
 */
async function freshTern(name, env = {}) {
  const db = `tern_bench_${name}_${process.pid}`;
  const tern = await startTern('all', {
    DATABASE_URL: await createDatabase(db),
    QUEUE_PREFIX: `bench_${name}_${process.pid}`,
    ...env,
  });
  const api = client(tern.url);
  try {
    await api('PUT', '/v1/event-types', [{ name: 'bench.order', category: 'bench' }]);
  } catch (e) {
    await tern.stop();
    await dropDatabase(db);
    throw e;
  }
  return {
    tern,
    api,
    close: async () => {
      await tern.stop();
      await dropDatabase(db);
    },
  };
}

/** A tenant with `urls.length` endpoints subscribed to bench.*; returns the endpoints. */
async function tenantWithEndpoints(api, tenantId, urls) {
  await api('POST', '/v1/tenants', { id: tenantId, name: tenantId });
  const endpoints = [];
  for (const url of urls)
    endpoints.push(
      await api('POST', `/v1/tenants/${tenantId}/endpoints`, { url, eventTypes: ['bench.*'] }),
    );
  return endpoints;
}

/**
 * The deliveries table through `pg` (a connected client on Tern's database): its row updates so
 * far, how many of them were heap-only (HOT), and its size without and with its indexes.
 */
async function deliveriesTable(pg) {
  const { rows } = await pg.query(
    `SELECT n_tup_upd::float AS updates, n_tup_hot_upd::float AS "hotUpdates",
            pg_relation_size(relid)::float AS "heapBytes",
            pg_total_relation_size(relid)::float AS "totalBytes"
       FROM pg_stat_user_tables WHERE relname = 'deliveries'`,
  );
  return rows[0];
}

/** Deletes every Redis key under a queue prefix. */
async function dropQueue(prefix) {
  const Redis = require('ioredis');
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function waitHealthy(url) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

function client(url, key = ADMIN_KEY) {
  const { Agent, request } = require('undici');
  const agent = new Agent({ connections: 64 });
  return async (method, path, body) => {
    const res = await request(url + path, {
      method,
      dispatcher: agent,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    const json = text ? JSON.parse(text) : null;
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
    return json;
  };
}

/** Waits until the receiver holds `unique` distinct (event, path) receipts; returns when it did. */
async function waitReceived(receiver, unique, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await receiver.stats();
    if (s.unique >= unique) return { at: Date.now(), stats: s };
    if (Date.now() > deadline)
      throw new Error(`receiver has ${s.unique} of ${unique} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

const TICK = 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

/** The fields of /proc/<pid>/stat after the command name (f[1] is the parent's pid). */
function statFields(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU seconds in statFields (utime, stime), or from `at` on: cutime, cstime. */
const cpuIn = (f, at = 11) => (Number(f[at]) + Number(f[at + 1])) / TICK;

/** User + system CPU seconds of one process (all its threads), from /proc. */
function cpuOf(pid) {
  return cpuIn(statFields(pid));
}

/**
 * CPU seconds of every process whose command line starts with `command` ('postgres': backends,
 * WAL writer, checkpointer, autovacuum), and of the server process that started them when its
 * program is `command` too (Postgres' postmaster, whose command line is its path): its own, and
 * what its children that have exited used (cutime, cstime), so a backend or an autovacuum worker
 * that exits within a measured window still counts, instead of taking its CPU with it.
 */
function commandCpu(command) {
  let t = 0;
  const matched = new Set();
  const parents = new Set();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(command)) continue;
      const f = statFields(p);
      t += cpuIn(f);
      matched.add(p);
      parents.add(f[1]);
    } catch {
      // gone meanwhile
    }
  }
  for (const pp of parents) {
    try {
      if (basename(readlinkSync(`/proc/${pp}/exe`)) !== command) continue;
      const f = statFields(pp);
      if (!matched.has(pp)) t += cpuIn(f);
      t += cpuIn(f, 13); // its exited children's
    } catch {
      // gone, or not ours to read
    }
  }
  return t;
}

/** A JSON payload of about `bytes` bytes. */
function payload(bytes, i) {
  return {
    orderId: `ord_${i}`,
    amount: 1000 + i,
    currency: 'EUR',
    customer: { id: `cus_${i % 997}`, email: `c${i}@example.com` },
    pad: 'x'.repeat(Math.max(0, bytes - 120)),
  };
}

/**
 * Triggers `events` events of type bench.order for a tenant: single events from 32 callers, or
 * (`batch` > 0) the batch route with `batch` events a call from 8 callers.
 */
async function ingest(api, tenantId, events, batch, payloadBytes) {
  let next = 0;
  const lane = async () => {
    while (next < events) {
      if (batch) {
        const from = next;
        next += batch;
        const items = [];
        for (let i = from; i < Math.min(events, from + batch); i++)
          items.push({ type: 'bench.order', data: payload(payloadBytes, i) });
        await api('POST', `/v1/tenants/${tenantId}/events/batch`, { events: items });
      } else {
        const i = next++;
        await api('POST', `/v1/tenants/${tenantId}/events`, {
          type: 'bench.order',
          data: payload(payloadBytes, i),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: batch ? 8 : 32 }, lane));
}

module.exports = {
  ingest,
  ROOT,
  ADMIN_KEY,
  REDIS_URL,
  sleep,
  percentile,
  median,
  startReceiver,
  startTcpProxy,
  createDatabase,
  dropDatabase,
  startTern,
  freshTern,
  tenantWithEndpoints,
  deliveriesTable,
  client,
  waitReceived,
  payload,
  cpuOf,
  commandCpu,
};
