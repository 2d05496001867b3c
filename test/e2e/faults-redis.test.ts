// Redis faults: Tern reaches Redis through a TCP proxy this file controls. Redis only carries
// wake-ups (Postgres holds the truth), so while it is cut the API keeps answering 202 without
// waiting on it, readiness says 503, and once it is back everything accepted is delivered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import {
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  REDIS_URL,
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

/** If an answer waited on Redis it would take DeliveryQueue's 2 s add timeout. */
const WAITED_ON_REDIS_MS = 2_000;

let proxy: TcpProxy;
let t: RunningTern;
let pg: Client;
let rcv: Receiver;

before(async () => {
  proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379));
  t = await startTern({
    REDIS_URL: proxy.url(REDIS_URL),
    RETRY_SCHEDULE: '200ms,400ms,800ms,1s,1s,1s,1s',
    SWEEP_INTERVAL_MS: '300',
  });
  pg = new Client({ connectionString: t.databaseUrl });
  await pg.connect();
  rcv = await startReceiver();
  await createEventType(t.api, 'order.paid');
});

after(async () => {
  await stopAllTriggering();
  await proxy?.resume().catch(() => undefined);
  await pg?.end();
  await t?.close();
  await rcv?.close();
  await proxy?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every answer is a 202, and those given while Redis was cut did not wait for it. */
function assertAllAccepted(results: TriggerResult[], during: TriggerResult[], what: string): void {
  for (const r of results) {
    assert.equal(r.status, 202, `${what}: ${r.status} ${r.error ?? JSON.stringify(r.body)}`);
    assert.equal(r.deliveries, 1);
  }
  const ms = during.map((r) => r.ms).sort((a, b) => a - b);
  const p90 = ms[Math.floor(ms.length * 0.9)];
  assert.ok(p90 < WAITED_ON_REDIS_MS / 2, `${what}: 90% of answers within ${p90} ms`);
  assert.ok(ms[ms.length - 1] < 2.5 * WAITED_ON_REDIS_MS, `${what}: slowest ${ms.at(-1)} ms`);
}

async function ready(): Promise<{ status: number; body: any }> {
  return t.api.as(null).get('/health/ready');
}

/** Waits until the receiver has every event of `results`; returns how long that took. */
async function allDelivered(results: TriggerResult[], path: string, timeoutMs: number) {
  const t0 = Date.now();
  await eventually(
    async () => {
      const got = new Set(
        rcv.requests.filter((r) => r.url === path).map((r) => r.headers['webhook-id']),
      );
      return results.every((r) => got.has(r.id));
    },
    timeoutMs,
    `every event accepted for ${path} delivered`,
  );
  return Date.now() - t0;
}

async function newTenant(path: string) {
  const tenant = await createTenant(t.api);
  const api = t.api.as(tenant.apiKey);
  await createEndpoint(api, tenant.id, { url: rcv.url + path, eventTypes: ['order.paid'] });
  return { id: tenant.id, api };
}

async function assertNotReady(): Promise<void> {
  await eventually(async () => (await ready()).status === 503, 10_000, 'not ready');
  const down = await ready();
  assert.equal(down.status, 503);
  assert.equal(down.body.details?.redis?.status, 'down', JSON.stringify(down.body));
  assert.equal(down.body.details?.postgres?.status, 'up');
}

async function assertSettled(tenantId: string): Promise<void> {
  await eventually(async () => (await ready()).status === 200, 15_000, 'ready again');
  const pending = async () =>
    (
      await pg.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE tenant_id = $1 AND status <> 'succeeded'`,
        [tenantId],
      )
    ).rows[0].n as number;
  await eventually(async () => (await pending()) === 0, 10_000, 'every delivery succeeded');
}

const received = (path: string, id: string | undefined) =>
  rcv.requests.some((r) => r.url === path && r.headers['webhook-id'] === id);

test('Redis refused for 13 s under load: 202s at once, deliveries go on from the sweeper, and the queue is back as soon as Redis is', async () => {
  const path = '/refused';
  const tenant = await newTenant(path);
  const load = startTriggering(tenant.api, tenant.id, 'order.paid', { lanes: 2, pauseMs: 20 });
  await load.waitFor(202, 10);

  await proxy.pause();
  const cutAt = Date.now();
  await assertNotReady();
  // Postgres holds the truth: the sweeper hands overdue deliveries to the dispatcher itself.
  await eventually(
    async () => load.results.some((r) => r.at > cutAt && received(path, r.id)),
    9_000,
    'an event accepted while Redis is down delivered while it is still down',
  );
  assert.equal(proxy.state, 'refusing');
  await sleep(Math.max(0, 13_000 - (Date.now() - cutAt)));
  await proxy.resume();
  const resumedAt = Date.now();
  // Bull reconnects within a second or two (its default backoff grows to 20 s): a new event goes
  // out through the queue at once, well before the sweeper's 2 s grace would find it.
  await sleep(2_500);
  const probe = await triggerOnce(tenant.api, tenant.id, 'order.paid', `probe-${Date.now()}`);
  assert.equal(probe.status, 202);
  await eventually(
    async () => received(path, probe.id),
    1_500,
    'an event triggered after Redis is back delivered through the queue',
  );
  const results = await load.stop();

  const during = results.filter((r) => r.at >= cutAt && r.at < resumedAt);
  assert.ok(during.length >= 10, `events triggered while Redis was cut: ${during.length}`);
  assertAllAccepted(results, during, 'Redis refused');
  const tookMs = await allDelivered(results, path, 30_000);
  const duplicates = rcv.requests.filter((r) => r.url === path).length - results.length - 1;
  console.log(
    `faults-redis (refused): ${results.length} accepted (${during.length} while cut), all delivered ${tookMs} ms after the stop, ${duplicates} duplicate sends`,
  );
  await assertSettled(tenant.id);
});

test('Redis partitioned under load: 202s without waiting on it, not ready, everything delivered once it is back', async () => {
  const path = '/partitioned';
  const tenant = await newTenant(path);
  const load = startTriggering(tenant.api, tenant.id, 'order.paid', { lanes: 2, pauseMs: 20 });
  await load.waitFor(202, 10);

  await proxy.blackhole();
  const cutAt = Date.now();
  await assertNotReady();
  await sleep(Math.max(0, 4_000 - (Date.now() - cutAt)));
  await proxy.resume();
  const resumedAt = Date.now();
  await load.waitFor(202, 10);
  const results = await load.stop();

  const during = results.filter((r) => r.at >= cutAt && r.at < resumedAt);
  assert.ok(during.length >= 10, `events triggered while Redis was cut: ${during.length}`);
  assertAllAccepted(results, during, 'Redis partitioned');
  const tookMs = await allDelivered(results, path, 30_000);
  const duplicates = rcv.requests.filter((r) => r.url === path).length - results.length;
  console.log(
    `faults-redis (partitioned): ${results.length} accepted (${during.length} while cut), all delivered ${tookMs} ms after the stop, ${duplicates} duplicate sends`,
  );
  await assertSettled(tenant.id);
});
