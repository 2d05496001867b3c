// Per-endpoint concurrency with deliveries claimed ahead: a healthy endpoint's next deliveries are
// claimed while its sends are out, yet it never has more than ENDPOINT_CONCURRENCY requests at once;
// once it fails, what was claimed ahead is given back unsent (no attempt used, nothing left
// claimed behind its one slot), and a healthy endpoint beside it is not held up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerResponse } from 'node:http';
import { Client } from 'pg';
import {
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  Receiver,
  RunningTern,
  startReceiver,
  startTern,
} from '../support/harness';

const LIMIT = 3;

let t: RunningTern;
let pg: Client;
const receivers: Receiver[] = [];
const hung: ServerResponse[] = [];

before(async () => {
  t = await startTern({
    ENDPOINT_CONCURRENCY: String(LIMIT),
    DELIVERY_TIMEOUT_MS: '1000',
    RETRY_SCHEDULE: '1h',
    SWEEP_INTERVAL_MS: '300',
  });
  pg = new Client({ connectionString: t.databaseUrl });
  await pg.connect();
  await createEventType(t.api, 'order.paid');
});

after(async () => {
  for (const res of hung) res.destroy();
  for (const r of receivers) await r.close();
  await pg?.end();
  await t?.close();
});

async function triggerBatch(tenantId: string, n: number): Promise<string[]> {
  const events = Array.from({ length: n }, (_, i) => ({ type: 'order.paid', data: { i } }));
  const r = await t.api.post(`/v1/tenants/${tenantId}/events/batch`, { events });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.data.map((e: { id: string }) => e.id);
}

/** A receiver that answers 200 after `holdMs`, counting the most requests it held at once. */
async function countingReceiver(holdMs: number): Promise<{ rcv: Receiver; most: () => number }> {
  let open = 0;
  let most = 0;
  const rcv = await startReceiver((_req, res) => {
    open++;
    most = Math.max(most, open);
    setTimeout(() => {
      open--;
      res.end('ok');
    }, holdMs);
  });
  receivers.push(rcv);
  return { rcv, most: () => most };
}

test('a healthy endpoint never has more than ENDPOINT_CONCURRENCY requests at once, and gets each event once', async () => {
  const { rcv, most } = await countingReceiver(100);
  const tenant = await createTenant(t.api);
  await createEndpoint(t.api, tenant.id, { url: rcv.url, eventTypes: ['order.paid'] });
  const events = await triggerBatch(tenant.id, 30);

  await rcv.waitFor(30, 20_000);
  assert.equal(most(), LIMIT, `at most ${LIMIT} at once, and that many were used`);
  const got = rcv.requests.map((r) => String(r.headers['webhook-id']));
  assert.deepEqual([...got].sort(), [...events].sort(), 'each event once');
});

test('an endpoint that starts failing gives back what was claimed ahead; the healthy one beside it is not held up', async () => {
  let answered = 0;
  const dying = await startReceiver((_req, res) => {
    if (answered < LIMIT) {
      answered++;
      res.end('ok');
    } else hung.push(res); // never answers: each attempt ends at DELIVERY_TIMEOUT_MS
  });
  const healthy = await startReceiver();
  receivers.push(dying, healthy);
  const tenant = await createTenant(t.api);
  const dead = await createEndpoint(t.api, tenant.id, {
    url: dying.url,
    eventTypes: ['order.paid'],
  });
  await createEndpoint(t.api, tenant.id, { url: healthy.url, eventTypes: ['order.paid'] });
  const N = 20;
  const events = await triggerBatch(tenant.id, N);

  await healthy.waitFor(N, 10_000); // while the dying endpoint's attempts hang

  const ofDead = async () =>
    (
      await pg.query(
        `SELECT d.id, d.attempts, d.claim_id IS NOT NULL AS claimed,
                (SELECT count(*)::int FROM attempts a WHERE a.delivery_id = d.id) AS logged,
                (SELECT count(*)::int FROM attempts a
                  WHERE a.delivery_id = d.id AND a.status_code IS NULL) AS timeouts
           FROM deliveries d WHERE d.endpoint_id = $1 AND d.event_id = ANY($2)`,
        [dead.id, events],
      )
    ).rows as {
      id: string;
      attempts: number;
      claimed: boolean;
      logged: number;
      timeouts: number;
    }[];

  // The first timeouts make it a failing endpoint: one attempt at a time from then on, and the
  // deliveries that were claimed ahead of those attempts are given back at once, not held
  // claimed until the one slot comes round to them.
  await eventually(
    async () => (await ofDead()).some((d) => d.timeouts > 0),
    10_000,
    'a timed-out attempt is logged',
  );
  const timedOutAt = Date.now();
  const settled = await eventually(
    async () => {
      const rows = await ofDead();
      return rows.filter((d) => d.claimed).length <= 1 ? rows : null;
    },
    600,
    'at most the one attempt in flight claimed',
  );
  assert.ok(Date.now() - timedOutAt < 1_000, 'given back before the next timeout');
  // Every attempt counted on a delivery is one that was made and logged: a delivery given back
  // unsent has its attempt back.
  for (const d of settled) {
    assert.equal(d.attempts, d.logged + (d.claimed ? 1 : 0), `attempts of ${d.id}`);
  }
  assert.ok(
    settled.filter((d) => d.attempts === 0).length >= N - 2 * LIMIT - 2,
    'most deliveries were never attempted',
  );
  assert.equal(healthy.requests.length, N, 'the healthy endpoint got each event once');
});

test('DISPATCH_CONCURRENCY caps sends across endpoints, which it serves in turn', async () => {
  const CAP = 4;
  const capped = await startTern({
    ENDPOINT_CONCURRENCY: String(LIMIT),
    DISPATCH_CONCURRENCY: String(CAP),
    DELIVERY_TIMEOUT_MS: '5000',
  });
  try {
    await createEventType(capped.api, 'order.paid');
    const { rcv, most } = await countingReceiver(20);
    const tenant = await createTenant(capped.api);
    for (let i = 0; i < 4; i++)
      await createEndpoint(capped.api, tenant.id, {
        url: `${rcv.url}/e${i}`,
        eventTypes: ['order.paid'],
      });
    const N = 25;
    const events = Array.from({ length: N }, (_, i) => ({ type: 'order.paid', data: { i } }));
    const r = await capped.api.post(`/v1/tenants/${tenant.id}/events/batch`, { events });
    assert.equal(r.status, 202);

    await rcv.waitFor(4 * N, 20_000);
    assert.equal(most(), CAP, `at most ${CAP} requests at once in the process, and that many used`);
    // Served in turn: every endpoint is among the first requests, none waits for the others' lines
    // to empty (in the map's order, the first two endpoints took every slot until they were done).
    const early = new Set(rcv.requests.slice(0, 2 * CAP).map((q) => q.url));
    assert.equal(early.size, 4, `all four endpoints within the first ${2 * CAP} requests`);
    for (let i = 0; i < 4; i++) {
      const got = rcv.requests.filter((q) => q.url === `/e${i}`);
      assert.equal(new Set(got.map((q) => q.headers['webhook-id'])).size, N, `endpoint ${i}`);
      assert.equal(got.length, N, `endpoint ${i} got each event once`);
    }
  } finally {
    await capped.close();
  }
});

test('deliveries claimed ahead of sends that hang are given back after 1 s, long before the timeout', async () => {
  let hang = true;
  const slowTimeout = await startTern({
    ENDPOINT_CONCURRENCY: String(LIMIT),
    DELIVERY_TIMEOUT_MS: '8000',
  });
  try {
    await createEventType(slowTimeout.api, 'order.paid');
    const rcv = await startReceiver((_req, res) => {
      if (rcv.requests.length <= LIMIT || !hang) res.end('ok');
      else hung.push(res); // hangs until the test ends, far inside DELIVERY_TIMEOUT_MS
    });
    receivers.push(rcv);
    const tenant = await createTenant(slowTimeout.api);
    const ep = await createEndpoint(slowTimeout.api, tenant.id, {
      url: rcv.url,
      eventTypes: ['order.paid'],
    });
    const events = Array.from({ length: 4 * LIMIT }, (_, i) => ({
      type: 'order.paid',
      data: { i },
    }));
    const r = await slowTimeout.api.post(`/v1/tenants/${tenant.id}/events/batch`, { events });
    assert.equal(r.status, 202);
    const db = new Client({ connectionString: slowTimeout.databaseUrl });
    await db.connect();
    const claimed = async () =>
      (
        await db.query(
          `SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = $1 AND claim_id IS NOT NULL`,
          [ep.id],
        )
      ).rows[0].n as number;

    await rcv.waitFor(2 * LIMIT, 10_000); // LIMIT answered, LIMIT hanging
    const hungAt = Date.now();
    await eventually(async () => (await claimed()) === 2 * LIMIT, 2_000, 'claims ahead');
    await eventually(async () => (await claimed()) === LIMIT, 3_000, 'claims ahead given back');
    assert.ok(Date.now() - hungAt < 4_000, 'given back well before the 8 s timeout');
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(await claimed(), LIMIT, 'and not claimed ahead again while the sends hang');
    assert.equal(rcv.requests.length, 2 * LIMIT, 'nor sent');
    await db.end();
  } finally {
    hang = false;
    for (const res of hung.splice(0)) res.destroy();
    await slowTimeout.close();
  }
});
