// `npm start` as a newcomer runs it: one process (dist/src/main.js, TERN_ROLE=all) whose dispatcher
// runs on a worker thread beside the API. It delivers, its /metrics holds the dispatcher thread's
// counters beside the API's (once, not twice), and SIGTERM lets an attempt in flight finish and be
// recorded before the process exits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess } from 'node:child_process';
import { ServerResponse } from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import { Client } from 'pg';
import {
  Api,
  ADMIN_KEY,
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  freePort,
  freshDatabase,
  Receiver,
  spawnTern,
  startReceiver,
  testEnv,
  waitUp,
} from '../support/harness';

let db: { url: string; drop: () => Promise<void> };
let rcv: Receiver;
let pg: Client;
let child: ChildProcess;
let url: string;
let admin: Api;
let tenantId: string;
/** Answers that the test holds back (the attempt stays in flight until it lets them go). */
const held: ServerResponse[] = [];
let hold = false;

before(async () => {
  db = await freshDatabase();
  rcv = await startReceiver((_req, res) => {
    if (hold) held.push(res);
    else res.end('ok');
  });
  const port = await freePort();
  child = spawnTern('all', { ...testEnv(db.url), PORT: String(port), SHUTDOWN_GRACE_MS: '8000' });
  url = `http://127.0.0.1:${port}`;
  await waitUp(url);
  admin = new Api(url, ADMIN_KEY);
  await createEventType(admin, 'order.paid');
  tenantId = (await createTenant(admin)).id;
  await createEndpoint(admin, tenantId, { url: rcv.url, eventTypes: ['order.paid'] });
  pg = new Client({ connectionString: db.url });
  await pg.connect();
});

after(async () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const res of held) res.end('ok');
  await pg?.end();
  await rcv?.close();
  await db?.drop();
});

test("delivers, and /metrics counts the dispatcher thread's deliveries with the API's events", async () => {
  const ev = await admin.post(`/v1/tenants/${tenantId}/events`, { type: 'order.paid', data: {} });
  assert.equal(ev.status, 202);
  await rcv.waitFor(1);
  // The status counts are cached for 5 s (STATUS_COUNT_TTL_MS): wait for both to show it.
  const text = await eventually(
    async () => {
      const t = await (await fetch(`${url}/metrics`)).text();
      return (
        /^tern_deliveries_total\{outcome="succeeded"\} 1$/m.test(t) &&
        /^tern_deliveries_by_status\{status="succeeded"\} 1$/m.test(t) &&
        t
      );
    },
    15_000,
    'the delivery counted',
  );
  assert.match(text, /^tern_events_accepted_total 1$/m);
  assert.match(text, /^tern_delivery_attempt_duration_seconds_count\{result="success"\} 1$/m);
  assert.match(
    text,
    /^tern_deliveries_by_status\{status="succeeded"\} 1$/m,
    'read once, not summed',
  );
  assert.equal(text.match(/^process_cpu_seconds_total /gm)?.length, 1, 'process metrics once');
  assert.equal(text.match(/^tern_queue_jobs\{state="waiting"\} /gm)?.length, 1);
});

test('SIGTERM: the attempt in flight finishes and is recorded, then the process exits', async () => {
  hold = true;
  const ev = await admin.post(`/v1/tenants/${tenantId}/events`, { type: 'order.paid', data: {} });
  assert.equal(ev.status, 202);
  await eventually(async () => held.length === 1, 10_000, 'the attempt in flight');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(child.exitCode, null, 'still draining while the attempt is in flight');
  held.shift()!.end('ok');
  await exited;
  assert.equal(child.signalCode, 'SIGTERM', 'ended by its own signal, not a crash');
  const { rows } = await pg.query(
    `SELECT d.status, d.claim_id, a.status_code FROM deliveries d JOIN attempts a ON a.delivery_id = d.id
      WHERE d.id = $1`,
    [ev.body.deliveries[0].id],
  );
  assert.deepEqual(rows, [{ status: 'succeeded', claim_id: null, status_code: 200 }]);
});

test('a port already taken stops start-up with a line naming HOST and PORT', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
  const port = (taken.address() as AddressInfo).port;
  try {
    const second = spawnTern('api', { ...testEnv(db.url), PORT: String(port) }, 'pipe');
    let stderr = '';
    second.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => second.on('exit', resolve));
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      new RegExp(
        `^tern: failed to start: cannot listen on HOST=\\S+ PORT=${port}: .*EADDRINUSE`,
        'm',
      ),
    );
  } finally {
    taken.close();
  }
});
