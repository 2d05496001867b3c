// A delivery written `paused` by a statement that read its endpoint as disabled just before a
// re-enable committed. The re-enable's resume (one UPDATE of the endpoint's paused deliveries, in
// the PATCH's transaction) cannot see a row that commits after it has run, so such a delivery
// would wait paused on an enabled endpoint until the next disable and enable. The sweeper resumes
// it (DeliveryLifecycleService.resumeStranded). The race is made here by holding a real PATCH's
// transaction open, after it has enabled the endpoint, while an event is ingested.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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

let t: RunningTern;
let rcv: Receiver;

/**
 * Waits until a statement ending with `tail` waits for a lock. (pg_stat_activity is read once per
 * transaction: so from a connection of its own, not from one holding the lock in a transaction.)
 */
async function waitingOnLock(tail: string): Promise<void> {
  await eventually(
    async () => {
      const watch = new Client({ connectionString: t.databaseUrl });
      await watch.connect();
      try {
        const { rowCount } = await watch.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1`,
          [tail],
        );
        return rowCount === 1;
      } finally {
        await watch.end();
      }
    },
    5_000,
    `a statement waiting for a lock: ...${tail}`,
  );
}

before(async () => {
  // Sweeps every 200 ms; the look for stranded deliveries every tenth, for rows paused a lease's
  // length ago (1 s of timeout and 1 s of margin here).
  t = await startTern({
    SWEEP_INTERVAL_MS: '200',
    DELIVERY_TIMEOUT_MS: '1000',
    LEASE_MARGIN_MS: '1000',
  });
  rcv = await startReceiver();
  await createEventType(t.api, 'order.paid');
});

after(async () => {
  await rcv?.close();
  await t?.close();
});

test('a delivery written paused while its endpoint was being re-enabled is sent once the endpoint is enabled', async () => {
  const tenant = await createTenant(t.api);
  const api = t.api.as(tenant.apiKey);
  const stays = await createEndpoint(api, tenant.id, {
    url: `${rcv.url}/stays-disabled`,
    eventTypes: ['order.paid'],
  });
  const ep = await createEndpoint(api, tenant.id, {
    url: `${rcv.url}/re-enabled`,
    eventTypes: ['order.paid'],
  });
  for (const id of [stays.id, ep.id])
    assert.equal(
      (await api.patch(`/v1/tenants/${tenant.id}/endpoints/${id}`, { enabled: false })).status,
      200,
    );
  const trigger = async (n: number) => {
    const ev = await api.post(`/v1/tenants/${tenant.id}/events`, {
      type: 'order.paid',
      data: { n },
    });
    assert.equal(ev.status, 202, JSON.stringify(ev.body));
    return new Map<string, { id: string; status: string }>(
      ev.body.deliveries.map((d: any) => [d.endpointId, d]),
    );
  };
  const first = await trigger(1);
  assert.equal(first.get(ep.id)!.status, 'paused');

  // Holding the first paused delivery's row makes the PATCH wait inside its transaction, after it
  // has enabled the endpoint and while its resume (one UPDATE of the paused deliveries) waits.
  const side = new Client({ connectionString: t.databaseUrl });
  await side.connect();
  try {
    await side.query('BEGIN');
    await side.query('SELECT id FROM deliveries WHERE id = $1 FOR UPDATE', [first.get(ep.id)!.id]);
    const patch = api.patch(`/v1/tenants/${tenant.id}/endpoints/${ep.id}`, { enabled: true });
    await waitingOnLock(`endpoint_id = $1 AND status = 'paused' RETURNING id`);
    // The ingest reads the endpoint as it was before the re-enable commits: disabled.
    const second = await trigger(2);
    assert.equal(second.get(ep.id)!.status, 'paused', 'written paused: the race happened');
    await side.query('COMMIT');
    assert.equal((await patch).status, 200);

    for (const d of [first, second]) {
      const id = d.get(ep.id)!.id;
      const x = await eventually(
        async () => {
          const r = (await api.get(`/v1/tenants/${tenant.id}/deliveries/${id}`)).body;
          return r.status === 'succeeded' && r;
        },
        10_000,
        `${id} sent`,
      );
      assert.equal(x.attempts.length, 1);
    }
    assert.equal(rcv.requests.filter((r) => r.url === '/re-enabled').length, 2);
    // The endpoint that stayed disabled keeps its deliveries paused: the same sweeps passed them.
    for (const d of [first, second])
      assert.equal(
        (await api.get(`/v1/tenants/${tenant.id}/deliveries/${d.get(stays.id)!.id}`)).body.status,
        'paused',
      );
    assert.equal(rcv.requests.filter((r) => r.url === '/stays-disabled').length, 0);
  } finally {
    await side.query('ROLLBACK').catch(() => undefined);
    await side.end();
  }
});

test('a delivery written paused while its endpoint was being deleted is cancelled', async () => {
  const tenant = await createTenant(t.api);
  const api = t.api.as(tenant.apiKey);
  const ep = await createEndpoint(api, tenant.id, {
    url: `${rcv.url}/deleted`,
    eventTypes: ['order.paid'],
  });
  assert.equal(
    (await api.patch(`/v1/tenants/${tenant.id}/endpoints/${ep.id}`, { enabled: false })).status,
    200,
  );
  const trigger = async (n: number) => {
    const ev = await api.post(`/v1/tenants/${tenant.id}/events`, {
      type: 'order.paid',
      data: { n },
    });
    assert.equal(ev.status, 202, JSON.stringify(ev.body));
    assert.equal(ev.body.deliveries[0].status, 'paused');
    return ev.body.deliveries[0].id as string;
  };
  const first = await trigger(1);
  // Holding the first delivery's row makes the DELETE wait inside its transaction, in its cancel.
  const side = new Client({ connectionString: t.databaseUrl });
  await side.connect();
  try {
    await side.query('BEGIN');
    await side.query('SELECT id FROM deliveries WHERE id = $1 FOR UPDATE', [first]);
    const del = api.delete(`/v1/tenants/${tenant.id}/endpoints/${ep.id}`);
    await waitingOnLock(`status IN ('pending', 'paused', 'sending')`);
    // The ingest still sees the endpoint and its subscription: the delete has not committed.
    const second = await trigger(2);
    await side.query('COMMIT');
    assert.equal((await del).status, 204);
    const statusOf = async (id: string) =>
      (await api.get(`/v1/tenants/${tenant.id}/deliveries/${id}`)).body.status;
    assert.equal(await statusOf(first), 'cancelled', 'cancelled by the delete');
    await eventually(async () => (await statusOf(second)) === 'cancelled', 10_000, 'cancelled');
    assert.equal(rcv.requests.filter((r) => r.url === '/deleted').length, 0);
  } finally {
    await side.query('ROLLBACK').catch(() => undefined);
    await side.end();
  }
});
