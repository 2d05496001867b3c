// A worker started apart (npm run start:worker) serves its own /metrics when METRICS_PORT is set.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess } from 'node:child_process';
import {
  Api,
  ADMIN_KEY,
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  freePort,
  freshDatabase,
  spawnTern,
  startReceiver,
  testEnv,
  waitUp,
} from '../support/harness';

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

test('the worker counts its deliveries on its own /metrics', async () => {
  const db = await freshDatabase();
  cleanups.push(db.drop);
  const rcv = await startReceiver();
  cleanups.push(rcv.close);
  const env = testEnv(db.url);
  const [apiPort, metricsPort] = [await freePort(), await freePort()];
  children.push(spawnTern('api', { ...env, PORT: String(apiPort) }));
  const url = `http://127.0.0.1:${apiPort}`;
  await waitUp(url);
  children.push(spawnTern('worker', { ...env, METRICS_PORT: String(metricsPort) }));
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  await eventually(
    async () => (await fetch(metricsUrl).catch(() => null))?.ok,
    20_000,
    'worker metrics up',
  );

  const admin = new Api(url, ADMIN_KEY);
  await createEventType(admin, 'order.paid');
  const tenant = await createTenant(admin);
  await createEndpoint(admin, tenant.id, { url: rcv.url, eventTypes: ['order.paid'] });
  await admin.post(`/v1/tenants/${tenant.id}/events`, { type: 'order.paid', data: {} });
  await rcv.waitFor(1);
  const text = await eventually(
    async () => {
      const t = await (await fetch(metricsUrl)).text();
      return /^tern_deliveries_total\{outcome="succeeded"\} 1$/m.test(t) && t;
    },
    10_000,
    'succeeded counted',
  );
  assert.match(text, /^tern_delivery_attempt_duration_seconds_count\{result="success"\} 1$/m);
  assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/health`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status, 404);
});
