// /health/ready follows Postgres: a TCP proxy stands between Tern and Postgres; closing it (and
// every connection through it) makes readiness 503 and keyed routes 503; listening again on the
// same port brings both back, with no restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import { eventually, freshDatabase, RunningTern, startTern } from '../support/harness';

/** Forwards 127.0.0.1:<port> to Postgres until closed; can listen again on the same port. */
class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async listen(port = 0): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

let db: { url: string; drop: () => Promise<void> };
let proxy: TcpProxy;
let t: RunningTern;

before(async () => {
  db = await freshDatabase();
  const target = new URL(db.url);
  proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  await proxy.listen();
  const proxied = new URL(db.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  // Migrations and the app's pool both go through the proxy.
  t = await startTern({ TERN_ROLE: 'api' }, proxied.toString());
});

after(async () => {
  await t?.close();
  await proxy?.close();
  await db?.drop();
});

const ready = () => t.api.as(null).get('/health/ready');

test('readiness is 503 while Postgres is unreachable and 200 again once it is back', async () => {
  const up = await ready();
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.deepEqual(up.body.info.postgres, { status: 'up' });
  assert.equal((await t.api.get('/v1/tenants')).status, 200);

  const port = proxy.port;
  await proxy.close();

  const down = await eventually(
    async () => {
      const r = await ready();
      return r.status === 503 && r;
    },
    15_000,
    'readiness 503 with Postgres unreachable',
  );
  assert.equal(down.body.status, 'error');
  assert.equal(down.body.error.postgres.status, 'down');
  assert.deepEqual(down.body.info, { redis: { status: 'up' } }, 'Redis is still up');
  assert.ok(down.body.details.postgres);
  // Liveness does not depend on Postgres.
  assert.equal((await t.api.as(null).get('/health')).status, 200);
  // A keyed route that needs Postgres answers 503 with the contract's error body and Retry-After.
  const listed = await t.api.get('/v1/tenants');
  assert.equal(listed.status, 503, JSON.stringify(listed.body));
  assert.equal(listed.body.statusCode, 503);
  assert.equal(listed.body.error, 'Service Unavailable');
  assert.ok(listed.headers.get('retry-after'));

  await proxy.listen(port);
  await eventually(
    async () => (await ready()).status === 200,
    15_000,
    'readiness 200 once Postgres is reachable again',
  );
  const back = await ready();
  assert.deepEqual(back.body.info, { postgres: { status: 'up' }, redis: { status: 'up' } });
  assert.equal((await t.api.get('/v1/tenants')).status, 200);
});
