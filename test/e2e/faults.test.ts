// Faults survived: a worker killed with SIGKILL mid-stream and the queue's Redis keys wiped; every
// event that got a 202 is delivered at least once afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess } from 'node:child_process';
import Redis from 'ioredis';
import {
  Api,
  ADMIN_KEY,
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  freePort,
  freshDatabase,
  REDIS_URL,
  Receiver,
  spawnTern,
  startReceiver,
  testEnv,
  waitUp,
} from '../support/harness';

let db: { url: string; drop: () => Promise<void> };
let env: Record<string, string>;
const children: ChildProcess[] = [];
let rcv: Receiver;

function start(role: 'api' | 'worker' | 'all', extra: Record<string, string> = {}): ChildProcess {
  const c = spawnTern(role, { ...env, ...extra });
  children.push(c);
  return c;
}

async function wipeQueue(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) removed += await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
  return removed;
}

before(async () => {
  db = await freshDatabase();
  env = testEnv(db.url, {
    DELIVERY_TIMEOUT_MS: '1500',
    LEASE_MARGIN_MS: '500',
    SWEEP_INTERVAL_MS: '300',
    RETRY_SCHEDULE: '200ms,200ms,200ms,200ms,200ms',
  });
  rcv = await startReceiver();
});

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rcv.close();
  await db.drop();
});

test('kill -9 the worker mid-stream and wipe the queue: every accepted event is still delivered', async () => {
  const port = await freePort();
  const api = start('api', { PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url);
  const admin = new Api(url, ADMIN_KEY);
  await createEventType(admin, 'order.paid');
  const tenant = await createTenant(admin);
  await createEndpoint(admin, tenant.id, { url: rcv.url, eventTypes: ['order.paid'] });
  // A slow receiver so that the kill lands with attempts in flight.
  rcv.respond((_r, res) => void setTimeout(() => res.end('ok'), 50));
  let worker = start('worker');

  const N = 60;
  const accepted: string[] = [];
  for (let i = 0; i < N; i++) {
    const r = await admin.post(`/v1/tenants/${tenant.id}/events`, {
      type: 'order.paid',
      data: { i },
    });
    assert.equal(r.status, 202);
    accepted.push(r.body.id);
    if (i === 20) {
      await rcv.waitFor(5, 10_000);
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      assert.ok((await wipeQueue(env.QUEUE_PREFIX)) >= 0);
    }
  }
  // Events accepted while no worker runs wait in Postgres; a new worker (and its sweeper) finds them.
  worker = start('worker');
  const seen = await eventually(
    async () => {
      const ids = new Set(rcv.requests.map((r) => r.headers['webhook-id']));
      return accepted.every((id) => ids.has(id)) && ids;
    },
    45_000,
    'every accepted event delivered',
  );
  assert.equal(seen.size, N);
  const duplicates = rcv.requests.length - N;
  assert.ok(duplicates >= 0);
  // Every delivery row ends succeeded.
  const rows = await eventually(
    async () => {
      const r = await admin.get(`/v1/tenants/${tenant.id}/deliveries?limit=250&status=succeeded`);
      return r.body.data.length === N && r.body.data;
    },
    20_000,
    'all succeeded',
  );
  assert.equal(rows.length, N);
  api.kill('SIGTERM');
  worker.kill('SIGTERM');
});
