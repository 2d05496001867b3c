// A delivery written `paused` by a statement that read its endpoint as disabled just before a
// re-enable committed. The re-enable's resume (one UPDATE of the endpoint's paused deliveries, in
// the PATCH's transaction) cannot see a row that commits after it has run, so such a delivery
// would wait paused on an enabled endpoint until the next disable and enable. The sweeper resumes
// it (DeliveryLifecycleService.resumeStranded). The race is made here by holding the re-enable's
// transaction open, with the statements the PATCH runs, while an event is ingested.
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

before(async () => {
  // Sweeps every 200 ms; the look for stranded deliveries every tenth, with a grace of 2 s.
  t = await startTern({ SWEEP_INTERVAL_MS: '200' });
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

  const reEnable = new Client({ connectionString: t.databaseUrl });
  await reEnable.connect();
  try {
    await reEnable.query('BEGIN');
    await reEnable.query(
      `UPDATE endpoints SET enabled = true, disabled_reason = NULL, consecutive_failures = 0,
              updated_at = now() WHERE id = $1`,
      [ep.id],
    );
    await reEnable.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = now(), updated_at = now()
        WHERE endpoint_id = $1 AND status = 'paused'`,
      [ep.id],
    );
    // The ingest reads the endpoint as it was before the re-enable commits: disabled.
    const ev = await api.post(`/v1/tenants/${tenant.id}/events`, {
      type: 'order.paid',
      data: { n: 1 },
    });
    assert.equal(ev.status, 202, JSON.stringify(ev.body));
    const byEndpoint = new Map<string, { id: string; status: string }>(
      ev.body.deliveries.map((d: any) => [d.endpointId, d]),
    );
    assert.equal(byEndpoint.get(ep.id)?.status, 'paused', 'written paused: the race happened');
    await reEnable.query('COMMIT');

    const endpoint = (await api.get(`/v1/tenants/${tenant.id}/endpoints/${ep.id}`)).body;
    assert.equal(endpoint.enabled, true);
    const id = byEndpoint.get(ep.id)!.id;
    const d = await eventually(
      async () => {
        const x = (await api.get(`/v1/tenants/${tenant.id}/deliveries/${id}`)).body;
        return x.status === 'succeeded' && x;
      },
      10_000,
      'the stranded delivery sent',
    );
    assert.equal(d.attempts.length, 1);
    assert.equal(rcv.requests.filter((r) => r.url === '/re-enabled').length, 1);

    // The endpoint that stayed disabled keeps its delivery paused, sweeps later.
    await new Promise((r) => setTimeout(r, 2_500));
    const still = byEndpoint.get(stays.id)!.id;
    assert.equal(
      (await api.get(`/v1/tenants/${tenant.id}/deliveries/${still}`)).body.status,
      'paused',
    );
    assert.equal(rcv.requests.filter((r) => r.url === '/stays-disabled').length, 0);
  } finally {
    await reEnable.query('ROLLBACK').catch(() => undefined);
    await reEnable.end();
  }
});
