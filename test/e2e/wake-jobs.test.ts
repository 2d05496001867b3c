// Wake-up jobs as Bull holds them. Ingestion's carry events by fan-out (`g`: event ids and
// [endpointId, n] targets), others ids by endpoint (`e`); one added by an older Tern carries
// [deliveryId, endpointId] pairs (`d`), and a worker still takes it. The sweeper is off (one sweep
// in 10 minutes), so a delivery arrives only if its job was read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import {
  createEndpoint,
  createEventType,
  createTenant,
  Receiver,
  RunningTern,
  startReceiver,
  startTern,
} from '../support/harness';
import { EventsService } from '../../src/events/events.service';
import { DELIVERY_QUEUE, JOB_DELIVER } from '../../src/queue/delivery-queue';

let t: RunningTern;
let rcv: Receiver;

before(async () => {
  t = await startTern({ SWEEP_INTERVAL_MS: '600000' });
  await createEventType(t.api, 'order.paid');
  rcv = await startReceiver();
});

after(async () => {
  await rcv?.close();
  await t?.close();
});

/** Stores an event for every endpoint subscribed, and wakes no one: only a job will send it. */
async function stored(tenantId: string) {
  const events = t.app.get(EventsService);
  const { accepted } = await t.app
    .get(DataSource)
    .transaction((m) => events.recordEvents(m, tenantId, [{ type: 'order.paid', data: {} }]));
  return accepted[0];
}

test('deliveries woken by a job in any form are sent, once each', async () => {
  const tenant = await createTenant(t.api);
  const endpoints = [];
  for (let i = 0; i < 3; i++)
    endpoints.push(
      await createEndpoint(t.api, tenant.id, {
        url: `${rcv.url}/${i}`,
        eventTypes: ['order.paid'],
      }),
    );
  const grouped = await stored(tenant.id);
  const pairs = await stored(tenant.id);
  const events = [await stored(tenant.id), await stored(tenant.id)];
  const mixed = [await stored(tenant.id), await stored(tenant.id)];
  assert.equal(grouped.deliveries.length, 3);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(rcv.requests.length, 0, 'nothing is sent before a job wakes it');

  const queue = t.app.get<Queue>(getQueueToken(DELIVERY_QUEUE));
  await queue.add(JOB_DELIVER, {
    e: [
      [grouped.deliveries[0].endpointId, [grouped.deliveries[0].id]],
      [grouped.deliveries[1].endpointId, [grouped.deliveries[1].id, grouped.deliveries[1].id]],
      [grouped.deliveries[2].endpointId, [grouped.deliveries[2].id]],
    ],
  });
  await queue.add(JOB_DELIVER, {
    d: pairs.deliveries.map((d) => [d.id, d.endpointId]),
  });
  // Both events to each endpoint: its place n among them makes the delivery ids.
  await queue.add(JOB_DELIVER, {
    g: [[events.map((e) => e.id), events[0].deliveries.map((d, n) => [d.endpointId, n])]],
  });

  // Both forms in one job, as a gathered wake-up of ingestion's and a retry's makes it.
  await queue.add(JOB_DELIVER, {
    g: [[[mixed[0].id], mixed[0].deliveries.map((d, n) => [d.endpointId, n])]],
    e: mixed[1].deliveries.map((d) => [d.endpointId, [d.id]]),
  });

  const got = await rcv.waitFor(18, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  const sent = rcv.requests.map((q) => q.headers['x-webhook-delivery-id']);
  assert.deepEqual(
    [...sent].sort(),
    [grouped, pairs, ...events, ...mixed]
      .flatMap((e) => e.deliveries)
      .map((d) => d.id)
      .sort(),
    'each delivery of every job, once',
  );
  assert.equal(got.length, 18);
});
