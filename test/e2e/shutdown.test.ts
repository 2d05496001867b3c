// Graceful shutdown of a worker process (SIGTERM): it stops taking work, lets the attempts in flight
// finish for up to SHUTDOWN_GRACE_MS, aborts the rest and records them as failed attempts, then
// exits. Nothing is left `sending` under a live lease, and a new worker delivers everything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess } from 'node:child_process';
import { ServerResponse } from 'node:http';
import { Client } from 'pg';
import {
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  freshDatabase,
  Receiver,
  RunningTern,
  spawnTern,
  startReceiver,
  startTern,
  testEnv,
} from '../support/harness';

const N = 6;
const SLOW_MS = 800;

let db: { url: string; drop: () => Promise<void> };
let env: Record<string, string>;
let t: RunningTern;
let pg: Client;
const children: ChildProcess[] = [];
/** A worker one test starts to finish its work and leaves running for the next test. */
let running: { proc: ChildProcess; graceMs: number } | null = null;
const receivers: Receiver[] = [];

/** A receiver that answers 200 after SLOW_MS, counting the answers it still owes. */
async function slowReceiver(): Promise<Receiver & { owed: () => number }> {
  let owed = 0;
  const r = await startReceiver((_req, res) => {
    owed++;
    setTimeout(() => {
      owed--;
      res.end('ok');
    }, SLOW_MS);
  });
  receivers.push(r);
  return Object.assign(r, { owed: () => owed });
}

function startWorker(graceMs: number): ChildProcess {
  const c = spawnTern('worker', { ...env, SHUTDOWN_GRACE_MS: String(graceMs) });
  children.push(c);
  return c;
}

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

/** The worker left running with this grace, or a new one (each test also runs on its own). */
async function worker(graceMs: number): Promise<ChildProcess> {
  const left = running;
  running = null;
  if (left && alive(left.proc)) {
    if (left.graceMs === graceMs) return left.proc;
    await terminate(left.proc, 30_000);
  }
  return startWorker(graceMs);
}

/** Starts the worker that finishes this test's work and serves the next test. */
function handOver(graceMs: number): void {
  running = { proc: startWorker(graceMs), graceMs };
}

/** Sends SIGTERM and waits for the exit; rejects if the process outlives `limitMs`. */
function terminate(
  c: ChildProcess,
  limitMs: number,
): Promise<{ ms: number; code: number | null; signal: string | null }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`the worker was still running ${limitMs} ms after SIGTERM`));
    }, limitMs);
    c.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - started, code, signal });
    });
    c.kill('SIGTERM');
  });
}

async function trigger(tenantId: string, type: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    const r = await t.api.post(`/v1/tenants/${tenantId}/events`, { type, data: { i } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  return ids;
}

/** Deliveries of these events, with their attempts, straight from Postgres. */
async function rows(eventIds: string[]) {
  const deliveries = await pg.query(
    `SELECT id, endpoint_id, status, attempts, lease_expires_at, claim_id FROM deliveries
      WHERE event_id = ANY($1) ORDER BY id`,
    [eventIds],
  );
  const attempts = await pg.query(
    `SELECT a.delivery_id, a.attempt, a.status_code, a.error FROM attempts a
       JOIN deliveries d ON d.id = a.delivery_id
      WHERE d.event_id = ANY($1) ORDER BY a.delivery_id, a.attempt`,
    [eventIds],
  );
  return { deliveries: deliveries.rows, attempts: attempts.rows };
}

/** What a worker that died without recording would leave: a claim under a live lease. */
async function liveClaims(eventIds: string[]): Promise<number> {
  const r = await pg.query(
    `SELECT count(*)::int AS n FROM deliveries
      WHERE event_id = ANY($1) AND (status = 'sending' OR lease_expires_at > now() OR claim_id IS NOT NULL)`,
    [eventIds],
  );
  return r.rows[0].n;
}

before(async () => {
  db = await freshDatabase();
  env = testEnv(db.url, {
    // Far above SLOW_MS and the grace: an attempt here ends by its answer or by shutdown, never by timeout.
    DELIVERY_TIMEOUT_MS: '30000',
    RETRY_SCHEDULE: '200ms,200ms,200ms,200ms',
    SWEEP_INTERVAL_MS: '300',
  });
  // The API runs in this process; the workers are child processes sharing its database and queue.
  t = await startTern({ ...env, TERN_ROLE: 'api' }, db.url);
  pg = new Client({ connectionString: db.url });
  await pg.connect();
  await createEventType(t.api, 'order.paid');
  await createEventType(t.api, 'order.shipped');
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of receivers) await r.close();
  await pg?.end();
  await t?.close();
  await db?.drop();
});

test('attempts that outlast the grace are aborted, recorded as failed attempts, and a new worker delivers them', async () => {
  const GRACE_MS = 1_500;
  const slow = await slowReceiver();
  // Hangs until told otherwise; the requests it never answers are the ones shutdown must abort.
  let hang = true;
  const hung: ServerResponse[] = [];
  const stuck = await startReceiver((_req, res) => {
    if (hang) hung.push(res);
    else res.end('ok');
  });
  receivers.push(stuck);
  const tenant = await createTenant(t.api);
  await createEndpoint(t.api, tenant.id, { url: slow.url, eventTypes: ['order.shipped'] });
  const stuckEp = await createEndpoint(t.api, tenant.id, {
    url: stuck.url,
    eventTypes: ['order.shipped'],
  });
  const proc = await worker(GRACE_MS);
  const events = await trigger(tenant.id, 'order.shipped');

  await Promise.all([slow.waitFor(N, 20_000), stuck.waitFor(N, 20_000)]);
  const owed = slow.owed();
  const exit = await terminate(proc, GRACE_MS + 10_000);
  assert.ok(owed > 0 && hung.length === N, 'SIGTERM landed with attempts in flight');
  // It waited the grace for the hung attempts (the clock starts after SIGTERM), then little more.
  assert.ok(exit.ms >= GRACE_MS, `exited after ${exit.ms} ms, not before the grace`);
  assert.ok(exit.ms < GRACE_MS + 8_000, `exited ${exit.ms} ms after SIGTERM`);
  assert.ok(
    exit.signal === 'SIGTERM' || exit.code === 0,
    `clean exit (${exit.code}, ${exit.signal})`,
  );

  // Every attempt in flight was recorded before the process let go of Postgres.
  assert.equal(await liveClaims(events), 0, 'no delivery left sending under a live lease');
  const { deliveries, attempts } = await rows(events);
  assert.equal(deliveries.length, 2 * N);
  assert.equal(attempts.length, 2 * N, 'one attempt recorded per delivery');
  const ofStuck = new Set(deliveries.filter((d) => d.endpoint_id === stuckEp.id).map((d) => d.id));
  for (const d of deliveries) {
    const [a] = attempts.filter((x) => x.delivery_id === d.id);
    if (ofStuck.has(d.id)) {
      // Aborted: a failed attempt that names why, and the delivery due again (not failed).
      assert.equal(d.status, 'pending');
      assert.equal(a.status_code, null);
      assert.match(a.error, /interrupted: the worker shut down/);
    } else {
      assert.equal(d.status, 'succeeded', 'the slow ones finished within the grace');
      assert.equal(a.status_code, 200);
    }
  }

  // A new worker takes over: every event reaches both endpoints, nothing is lost.
  hang = false;
  handOver(1_000); // finishes this test, then serves the next one
  await eventually(
    async () => {
      const { deliveries: now } = await rows(events);
      return now.every((d) => d.status === 'succeeded');
    },
    25_000,
    'every delivery succeeded after the restart',
  );
  const answered = new Set(stuck.requests.slice(N).map((r) => r.headers['webhook-id']));
  assert.deepEqual(
    [...answered].sort(),
    [...events].sort(),
    'each event reached the stuck endpoint',
  );
  const retried = stuck.requests.slice(N);
  assert.ok(
    retried.every((r) => r.headers['x-webhook-retry'] === '1'),
    'counted as the second attempt',
  );
  const delivered = new Set(slow.requests.map((r) => r.headers['webhook-id']));
  assert.equal(delivered.size, N);
});

test('an interrupted last attempt does not exhaust the delivery: no alert, and the next worker retries it', async () => {
  const GRACE_MS = 1_000;
  // Fails every scheduled attempt but the last, and hangs on the last until told otherwise.
  let hang = true;
  const hung: ServerResponse[] = [];
  const rcv = await startReceiver((req, res) => {
    const retry = Number(req.headers['x-webhook-retry']);
    if (retry < 4) {
      res.statusCode = 500;
      res.end('not yet');
    } else if (hang) hung.push(res);
    else res.end('ok');
  });
  receivers.push(rcv);
  const tenant = await createTenant(t.api);
  await createEndpoint(t.api, tenant.id, { url: rcv.url, eventTypes: ['order.paid'] });
  const proc = await worker(GRACE_MS);
  const r = await t.api.post(`/v1/tenants/${tenant.id}/events`, {
    type: 'order.paid',
    data: { last: true },
  });
  assert.equal(r.status, 202);
  const event = r.body.id as string;

  await rcv.waitFor(5, 20_000); // the fifth and last scheduled attempt is in flight
  assert.equal(hung.length, 1);
  await terminate(proc, GRACE_MS + 10_000);

  assert.equal(await liveClaims([event]), 0);
  const before = await rows([event]);
  assert.equal(before.deliveries[0].status, 'pending', 'not failed: the receiver never answered');
  assert.equal(before.attempts.length, 5);
  assert.match(before.attempts[4].error, /interrupted/);
  const alerts = await t.api.get(`/v1/tenants/${tenant.id}/alerts`);
  assert.deepEqual(alerts.body.data, [], 'no delivery-failed alert for an interrupted attempt');

  hang = false;
  handOver(15_000); // finishes this test, then serves the next one
  await eventually(
    async () => (await rows([event])).deliveries[0].status === 'succeeded',
    20_000,
    'the interrupted last attempt is made again',
  );
  const after = await rows([event]);
  assert.equal(after.attempts.length, 6);
  assert.equal(after.attempts[5].status_code, 200);
  assert.equal(rcv.requests[5].headers['x-webhook-retry'], '5');
});

test('SIGTERM with attempts in flight: they finish and are recorded, and the worker exits without waiting out the grace', async () => {
  const GRACE_MS = 15_000;
  const slow = await slowReceiver();
  const tenant = await createTenant(t.api);
  await createEndpoint(t.api, tenant.id, { url: slow.url, eventTypes: ['order.paid'] });
  const proc = await worker(GRACE_MS);
  const events = await trigger(tenant.id, 'order.paid');

  await slow.waitFor(N, 20_000);
  const owed = slow.owed();
  const exit = await terminate(proc, GRACE_MS + 10_000);
  assert.ok(owed > 0, 'SIGTERM landed with attempts in flight');
  assert.ok(
    exit.ms < GRACE_MS,
    `exited after ${exit.ms} ms, before the ${GRACE_MS} ms grace ran out`,
  );
  assert.ok(
    exit.signal === 'SIGTERM' || exit.code === 0,
    `clean exit (${exit.code}, ${exit.signal})`,
  );

  const { deliveries, attempts } = await rows(events);
  assert.equal(deliveries.length, N);
  assert.deepEqual(
    deliveries.map((d) => d.status),
    Array(N).fill('succeeded'),
    'every attempt in flight finished and was recorded',
  );
  assert.equal(attempts.length, N);
  assert.ok(attempts.every((a) => a.status_code === 200 && a.error === null));
  assert.equal(await liveClaims(events), 0);
});

test('SIGTERM gives back deliveries claimed ahead and not yet sent: due again, no attempt used', async () => {
  const left = running;
  running = null;
  if (left && alive(left.proc)) await terminate(left.proc, 30_000);
  const LIMIT = 2;
  // Answers the first LIMIT at once (so the endpoint is known to be quick and gets deliveries
  // claimed ahead), then hangs.
  const hung: ServerResponse[] = [];
  const rcv = await startReceiver((_req, res) => {
    if (rcv.requests.length <= LIMIT) res.end('ok');
    else hung.push(res);
  });
  receivers.push(rcv);
  const tenant = await createTenant(t.api);
  await createEndpoint(t.api, tenant.id, { url: rcv.url, eventTypes: ['order.paid'] });
  const proc = spawnTern('worker', {
    ...env,
    ENDPOINT_CONCURRENCY: String(LIMIT),
    SHUTDOWN_GRACE_MS: '500',
  });
  children.push(proc);
  const events = await trigger(tenant.id, 'order.paid'); // N = 3 * LIMIT

  await rcv.waitFor(2 * LIMIT, 20_000);
  // LIMIT attempts hang in flight, and the last LIMIT deliveries are claimed ahead of them.
  await eventually(
    async () => (await rows(events)).deliveries.filter((d) => d.claim_id).length === 2 * LIMIT,
    5_000,
    'deliveries claimed ahead',
  );
  await terminate(proc, 20_000);

  assert.equal(await liveClaims(events), 0, 'nothing left claimed');
  const { deliveries, attempts } = await rows(events);
  assert.equal(rcv.requests.length, 2 * LIMIT, 'only the answered and the hung ones were sent');
  assert.equal(attempts.length, 2 * LIMIT, 'and only they were logged');
  const ok = attempts.filter((a) => a.status_code === 200);
  const interrupted = attempts.filter((a) => /interrupted/.test(a.error ?? ''));
  assert.equal(ok.length, LIMIT);
  assert.equal(interrupted.length, LIMIT);
  const tried = new Set(attempts.map((a) => a.delivery_id));
  const untried = deliveries.filter((d) => !tried.has(d.id));
  assert.equal(untried.length, N - 2 * LIMIT);
  for (const d of untried) {
    assert.equal(d.status, 'pending', `${d.id} is due again`);
    assert.equal(d.attempts, 0, `${d.id} has its attempt back`);
  }
  for (const res of hung) res.destroy();
});
