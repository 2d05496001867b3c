// `npm start` runs the dispatcher on a worker thread. If that thread dies of an uncaught error, the
// process must not live on as an API that accepts events nobody sends: it exits (code 1, the reason
// on stderr), so a supervisor restarts it, and the restarted process (same database and queue)
// delivers what was accepted, the attempt that was in flight included (its lease expires and the
// sweeper makes it due again).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess } from 'node:child_process';
import { ServerResponse } from 'node:http';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  Api,
  ADMIN_KEY,
  createEndpoint,
  createEventType,
  createTenant,
  dropQueue,
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
/** Both processes' settings: the same database and queue. */
let env: Record<string, string>;
let rcv: Receiver;
let pg: Client;
const children: ChildProcess[] = [];
const held: ServerResponse[] = [];
let hold = false;
const crashFile = join(tmpdir(), `tern-crash-${process.pid}`);

before(async () => {
  db = await freshDatabase();
  // A timeout the crash comes well within, and a short lease after it (6 s).
  env = testEnv(db.url, { DELIVERY_TIMEOUT_MS: '5000', LEASE_MARGIN_MS: '1000' });
  rcv = await startReceiver((_req, res) => {
    if (hold) held.push(res);
    else res.end('ok');
  });
  pg = new Client({ connectionString: db.url });
  await pg.connect();
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const res of held) res.destroy();
  rmSync(crashFile, { force: true });
  await pg?.end();
  await rcv?.close();
  if (env) await dropQueue(env.QUEUE_PREFIX);
  await db?.drop();
});

/** `npm start` (dist/src/main.js, TERN_ROLE=all) on a free port; its stderr is collected. */
async function start(extra: Record<string, string>): Promise<{
  child: ChildProcess;
  api: Api;
  stderr: () => string;
}> {
  const port = await freePort();
  const child = spawnTern('all', { ...env, PORT: String(port), ...extra }, 'pipe');
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url);
  return { child, api: new Api(url, ADMIN_KEY), stderr: () => stderr };
}

test('a dispatcher thread that dies takes the process with it; after a restart the attempt it had in flight is delivered', async () => {
  const first = await start({
    NODE_OPTIONS: `--require ${join(__dirname, '..', 'support', 'crash-dispatcher-thread.js')}`,
    TERN_TEST_CRASH_FILE: crashFile,
  });
  await createEventType(first.api, 'order.paid');
  const tenantId = (await createTenant(first.api)).id;
  await createEndpoint(first.api, tenantId, { url: rcv.url, eventTypes: ['order.paid'] });

  hold = true;
  const ev = await first.api.post(`/v1/tenants/${tenantId}/events`, {
    type: 'order.paid',
    data: { n: 1 },
  });
  assert.equal(ev.status, 202);
  const deliveryId = ev.body.deliveries[0].id;
  await eventually(async () => held.length === 1, 10_000, 'the attempt in flight');

  const exited = new Promise<number | string | null>((resolve) => {
    first.child.once('exit', (code) => resolve(code));
    setTimeout(() => resolve('still running 10 s later'), 10_000).unref();
  });
  writeFileSync(crashFile, '');
  assert.equal(await exited, 1, 'the process exits with an error');
  assert.match(first.stderr(), /dispatcher thread failed: crashed by the test; exiting/);
  rmSync(crashFile);
  held.shift()!.destroy(); // the answer would reach no one
  const before = await pg.query(`SELECT status, claim_id FROM deliveries WHERE id = $1`, [
    deliveryId,
  ]);
  assert.equal(before.rows[0].status, 'pending');
  assert.notEqual(before.rows[0].claim_id, null, 'claimed by the process that died');

  hold = false;
  const second = await start({});
  const d = await eventually(
    async () => {
      const x = (await second.api.get(`/v1/tenants/${tenantId}/deliveries/${deliveryId}`)).body;
      return x.status === 'succeeded' && x;
    },
    20_000,
    'delivered after the restart',
  );
  const webhookIds = rcv.requests.map((r) => r.headers['webhook-id']);
  assert.equal(webhookIds.length, 2, 'the attempt in flight, then the one after the restart');
  assert.equal(webhookIds[0], webhookIds[1], 'the same message id both times');
  assert.equal(d.attempts.at(-1).statusCode, 200);
  second.child.kill('SIGTERM');
});
