// Postgres faults: Tern reaches Postgres through a TCP proxy this file controls. While a client keeps
// triggering events, Postgres is cut twice: refused (a crashed or restarting server: connections
// reset, new ones refused) and partitioned (connections hang: only Tern's own timeouts notice).
// The API answers 503 with the contract's body, quickly, never 500; nothing is half-written; and
// once Postgres is back every event that got a 202 is delivered, with no help from anyone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import {
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  freshDatabase,
  Receiver,
  RunningTern,
  startReceiver,
  startTern,
} from '../support/harness';
import { startTcpProxy, TcpProxy } from '../support/tcp-proxy';
import {
  startTriggering,
  stopAllTriggering,
  triggerOnce,
  TriggerResult,
} from '../support/trigger-load';

const QUERY_TIMEOUT_MS = 1_500;
const CONNECT_TIMEOUT_MS = 1_000;
/** The slowest answer we accept while Postgres is cut: a query timeout, a connect timeout, slack. */
const SLOWEST_ANSWER_MS = 6_000;

let db: { url: string; drop: () => Promise<void> };
let proxy: TcpProxy;
let t: RunningTern;
let pg: Client;
let rcv: Receiver;

before(async () => {
  db = await freshDatabase();
  proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
  t = await startTern(
    {
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      RETRY_SCHEDULE: '200ms,400ms,800ms,1s,1s,1s,1s',
      DELIVERY_TIMEOUT_MS: '2000',
      LEASE_MARGIN_MS: '1000',
      SWEEP_INTERVAL_MS: '300',
    },
    proxy.url(db.url),
  );
  pg = new Client({ connectionString: db.url }); // direct: the proxy's faults never touch it
  await pg.connect();
  rcv = await startReceiver();
  await createEventType(t.api, 'order.paid');
});

after(async () => {
  await stopAllTriggering();
  await t?.close().catch(() => undefined);
  await pg?.end().catch(() => undefined);
  await rcv?.close();
  await proxy?.close();
  await db?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A proxy trap must spring within `ms`, or the test says which one did not (instead of hanging). */
async function sprungWithin(trap: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    trap,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the trap on ${what} never sprung`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Every answer while Postgres was cut is a 202 or the contract's 503, and came back quickly. */
function assertCleanAnswers(results: TriggerResult[]): void {
  for (const r of results) {
    assert.ok(
      r.status === 202 || r.status === 503,
      `only 202 or 503 while Postgres is cut, got ${r.status} ${r.error ?? JSON.stringify(r.body)}`,
    );
    assert.ok(r.ms < SLOWEST_ANSWER_MS, `an answer took ${r.ms} ms (${r.status})`);
    if (r.status === 503) {
      assert.equal(r.body.statusCode, 503);
      assert.equal(r.body.error, 'Service Unavailable');
      assert.equal(typeof r.body.message, 'string');
      assert.match(r.retryAfter ?? '', /^\d+$/, 'a 503 carries Retry-After');
    }
  }
}

test('a commit whose answer is lost: the 503 says the outcome is unknown, and a retry with the same key finds the event', async () => {
  const tenant = await createTenant(t.api);
  const api = t.api.as(tenant.apiKey);
  await createEndpoint(api, tenant.id, { url: `${rcv.url}/lost`, eventTypes: ['order.paid'] });
  // The insert is a prepared statement: its name is on the wire every time, its text only once.
  const sprung = proxy.loseAnswer({ after: 'tern_insert_events', on: 'COMMIT' });
  const first = await triggerOnce(api, tenant.id, 'order.paid', 'lost-commit');
  await sprungWithin(sprung, 5_000, 'COMMIT');
  assert.equal(first.status, 503, JSON.stringify(first.body));
  assert.match(first.body.message, /may or may not have been applied/);
  assert.match(first.body.message, /same Idempotency-Key/);
  const stored = await pg.query(
    'SELECT id FROM events WHERE tenant_id = $1 AND idempotency_key = $2',
    [tenant.id, 'lost-commit'],
  );
  assert.equal(stored.rowCount, 1, 'Postgres did commit');
  const again = await triggerOnce(api, tenant.id, 'order.paid', 'lost-commit');
  assert.equal(again.status, 202);
  assert.equal(again.id, stored.rows[0].id, 'the retry answers the committed event');
  assert.equal(again.deliveries, 1);
  // Its wake-up was never sent (the request failed first): the sweeper finds it.
  await eventually(
    async () => rcv.requests.some((r) => r.url === '/lost' && r.headers['webhook-id'] === again.id),
    15_000,
    'the committed event delivered',
  );
});

test('a result that cannot be written in a Postgres blip is written once it is back: the receiver gets it once', async () => {
  const tenant = await createTenant(t.api);
  const api = t.api.as(tenant.apiKey);
  await createEndpoint(api, tenant.id, { url: `${rcv.url}/blip`, eventTypes: ['order.paid'] });
  // The statement recording the attempt (prepared: named on the wire every time) dies with its
  // connection before reaching Postgres.
  const sprung = proxy.dropRequest('tern_record_attempts');
  const res = await triggerOnce(api, tenant.id, 'order.paid', 'blip');
  assert.equal(res.status, 202);
  await sprungWithin(sprung, 10_000, 'tern_record_attempts');
  const delivery = await eventually(
    async () => {
      const d = await api.get(`/v1/tenants/${tenant.id}/deliveries?eventId=${res.id}`);
      return d.body.data[0]?.status === 'succeeded' && d.body.data[0];
    },
    15_000,
    'the delivery recorded as succeeded',
  );
  assert.equal(delivery.attemptCount, 1);
  // Long enough for the claim's lease to expire (DELIVERY_TIMEOUT_MS + LEASE_MARGIN_MS) and be swept.
  await sleep(4_000);
  const sends = rcv.requests.filter((r) => r.url === '/blip');
  assert.equal(sends.length, 1, 'sent once: the result was kept and written, not lost');
});

test('Postgres refused, then partitioned, while events pour in: 503s, nothing half-written, everything accepted is delivered', async () => {
  const tenant = await createTenant(t.api);
  const api = t.api.as(tenant.apiKey);
  // Two endpoints: every accepted event has exactly two deliveries, or it is half-written.
  for (const path of ['/a', '/b'])
    await createEndpoint(api, tenant.id, { url: rcv.url + path, eventTypes: ['order.paid'] });

  const load = startTriggering(api, tenant.id, 'order.paid', {
    lanes: 4,
    requestTimeoutMs: 20_000,
  });
  await load.waitFor(202, 20);

  // 1. Refused: the server is gone; open connections reset, new ones refused.
  await proxy.pause();
  await load.waitFor(503, 10);
  const ready = await t.api.as(null).get('/health/ready');
  assert.equal(ready.status, 503, 'not ready while Postgres is down');
  await sleep(1_500);
  await proxy.resume();
  await load.waitFor(202, 20);

  // 2. Partitioned: connections hang; only Tern's timeouts can tell.
  await proxy.blackhole();
  await load.waitFor(503, 5, 15_000);
  await sleep(1_500);
  await proxy.resume();
  await load.waitFor(202, 20, 20_000);
  const results = await load.stop();

  const by = (s: number) => results.filter((r) => r.status === s);
  console.log(
    `faults-postgres: ${results.length} requests, ${by(202).length} accepted, ${by(503).length} answered 503, slowest ${Math.max(...results.map((r) => r.ms))} ms`,
  );
  assertCleanAnswers(results);

  // Nothing half-written: every 202 exists with both deliveries, and no event lacks one.
  const accepted = new Map(by(202).map((r) => [r.key, r.id!]));
  const rows = (
    await pg.query(
      `SELECT e.id, e.idempotency_key AS key, count(d.id)::int AS deliveries
         FROM events e LEFT JOIN deliveries d ON d.event_id = e.id
        WHERE e.tenant_id = $1 GROUP BY e.id`,
      [tenant.id],
    )
  ).rows as { id: string; key: string; deliveries: number }[];
  const stored = new Map(rows.map((r) => [r.key, r]));
  for (const [key, id] of accepted) {
    assert.equal(stored.get(key)?.id, id, `accepted ${key} (${id}) is stored`);
  }
  for (const r of rows) assert.equal(r.deliveries, 2, `${r.id} has both deliveries`);
  // A COMMIT whose answer was lost may have been applied: only such answers may hide a stored event,
  // and they say so. A client retries what was refused with the same key, as the answer asks.
  const lostCommits = new Set(
    by(503)
      .filter((r) => /while committing/.test(r.body.message))
      .map((r) => r.key),
  );
  const orphans = rows.filter((r) => !accepted.has(r.key));
  for (const o of orphans) {
    assert.ok(
      lostCommits.has(o.key),
      `${o.id} is stored, yet ${o.key} got no 202 nor a lost-commit 503`,
    );
  }
  for (const r of by(503)) {
    const again = await triggerOnce(api, tenant.id, 'order.paid', r.key);
    assert.equal(again.status, 202, `retry of ${r.key}: ${JSON.stringify(again.body)}`);
    const earlier = stored.get(r.key);
    if (earlier) assert.equal(again.id, earlier.id, 'a retried key answers the stored event');
    assert.equal(again.deliveries, 2);
    accepted.set(r.key, again.id!);
  }
  const count = await pg.query('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1', [
    tenant.id,
  ]);
  assert.equal(count.rows[0].n, accepted.size, 'one stored event per accepted key, no more');
  console.log(
    `faults-postgres: ${orphans.length} events stored behind a lost commit (${lostCommits.size} lost-commit answers)`,
  );

  // Back to normal: new events are accepted and everything accepted is delivered to both endpoints.
  const after = await triggerOnce(api, tenant.id, 'order.paid', 'after-recovery');
  assert.equal(after.status, 202);
  accepted.set(after.key, after.id!);
  const want = [...accepted.values()];
  await eventually(
    async () => {
      const got = new Set(rcv.requests.map((r) => `${r.url}|${r.headers['webhook-id']}`));
      return want.every((id) => got.has(`/a|${id}`) && got.has(`/b|${id}`));
    },
    30_000,
    'every accepted event delivered to both endpoints',
  );
  const duplicates = rcv.requests.length - 2 * want.length;
  console.log(`faults-postgres: ${want.length} events delivered, ${duplicates} duplicate sends`);
  const undelivered = await pg.query(
    `SELECT count(*)::int AS n FROM deliveries WHERE tenant_id = $1 AND status <> 'succeeded'`,
    [tenant.id],
  );
  await eventually(
    async () =>
      (
        await pg.query(
          `SELECT count(*)::int AS n FROM deliveries WHERE tenant_id = $1 AND status <> 'succeeded'`,
          [tenant.id],
        )
      ).rows[0].n === 0,
    15_000,
    `every delivery row succeeded (${undelivered.rows[0].n} not yet)`,
  );
});
