// Receivers that misbehave: reset the connection mid-request, trickle their body past the deadline,
// answer 10 MB, answer bytes Postgres cannot store, or never answer. Each attempt is recorded with a
// clear error and within the deadline, and every event is delivered once the receiver behaves.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  Api,
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  RunningTern,
  startTern,
} from '../support/harness';

const TIMEOUT_MS = 1_000;
/** An attempt may outlive DELIVERY_TIMEOUT_MS by this much at most (a loaded machine). */
const SLACK_MS = 1_500;

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;

/** A receiver whose behaviour is chosen per path and per attempt (x-webhook-retry + 1). */
interface Misbehaving {
  url: string;
  on(path: string, handler: Handler): void;
  hits(path: string): { attempt: number; eventId: string; at: number }[];
  close(): Promise<void>;
}

async function startMisbehaving(): Promise<Misbehaving> {
  const handlers = new Map<string, Handler>();
  const hits = new Map<string, { attempt: number; eventId: string; at: number }[]>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const attempt = Number(req.headers['x-webhook-retry'] ?? 0) + 1;
    const list = hits.get(path) ?? [];
    list.push({ attempt, eventId: String(req.headers['webhook-id']), at: Date.now() });
    hits.set(path, list);
    const handler = handlers.get(path);
    if (!handler) {
      res.statusCode = 404;
      res.end();
      return;
    }
    handler(req, res, attempt);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    on: (path, handler) => handlers.set(path, handler),
    hits: (path) => hits.get(path) ?? [],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Reads the request, then answers 200 "ok" (how a receiver behaves once it is fixed). */
const behave = (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => res.end('ok'));
};

let t: RunningTern;
let rcv: Misbehaving;
let tenant: { id: string; api: Api };
const intervals = new Set<NodeJS.Timeout>();

before(async () => {
  t = await startTern({
    DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
    CONNECT_TIMEOUT_MS: '500',
    RETRY_SCHEDULE: '200ms,200ms,200ms,200ms',
    SWEEP_INTERVAL_MS: '300',
  });
  rcv = await startMisbehaving();
  await createEventType(t.api, 'order.paid');
  const created = await createTenant(t.api);
  tenant = { id: created.id, api: t.api.as(created.apiKey) };
});

after(async () => {
  intervals.forEach(clearInterval);
  await rcv?.close();
  await t?.close();
});

/** An endpoint at `path`, one event sent to it; returns the delivery id. */
async function sendTo(path: string): Promise<{ deliveryId: string; eventId: string }> {
  // Each endpoint subscribes to its own type, so every event goes to one receiver path only.
  const type = `order.paid${path.replace(/[^a-z0-9]/g, '')}`;
  await createEventType(t.api, type);
  await createEndpoint(tenant.api, tenant.id, { url: rcv.url + path, eventTypes: [type] });
  const res = await tenant.api.post(`/v1/tenants/${tenant.id}/events`, { type, data: { path } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal(res.body.deliveries.length, 1);
  return { deliveryId: res.body.deliveries[0].id, eventId: res.body.id };
}

async function settled(deliveryId: string, timeoutMs = 20_000): Promise<any> {
  return eventually(
    async () => {
      const d = (await tenant.api.get(`/v1/tenants/${tenant.id}/deliveries/${deliveryId}`)).body;
      return ['succeeded', 'failed'].includes(d.status) && d;
    },
    timeoutMs,
    `delivery ${deliveryId} settled`,
  );
}

function assertWithinDeadline(attempts: any[]): void {
  for (const a of attempts) {
    assert.ok(
      a.durationMs <= TIMEOUT_MS + SLACK_MS,
      `attempt ${a.attempt} took ${a.durationMs} ms (deadline ${TIMEOUT_MS} ms)`,
    );
  }
}

test('a receiver that resets the connection mid-request twice, then answers 200', async () => {
  rcv.on('/reset', (req, res, attempt) => {
    if (attempt <= 2)
      req.socket.destroy(); // before reading the body or answering
    else behave(req, res);
  });
  const { deliveryId, eventId } = await sendTo('/reset');
  const d = await settled(deliveryId);
  assert.equal(d.status, 'succeeded');
  assert.deepEqual(
    d.attempts.map((a: any) => a.statusCode),
    [null, null, 200],
  );
  for (const a of d.attempts.slice(0, 2)) {
    assert.match(a.error, /^connection reset: /, a.error);
    assert.equal(a.responseBody, null);
  }
  assert.equal(d.attempts[2].error, null);
  assertWithinDeadline(d.attempts);
  assert.deepEqual(
    rcv.hits('/reset').map((h) => [h.attempt, h.eventId]),
    [
      [1, eventId],
      [2, eventId],
      [3, eventId],
    ],
  );
});

test('a receiver that never answers: each attempt ends at the deadline with a timeout, then it behaves', async () => {
  rcv.on('/silent', (req, res, attempt) => {
    if (attempt <= 2)
      req.resume(); // reads everything, says nothing
    else behave(req, res);
  });
  const { deliveryId } = await sendTo('/silent');
  const d = await settled(deliveryId);
  assert.equal(d.status, 'succeeded');
  assert.deepEqual(
    d.attempts.map((a: any) => a.statusCode),
    [null, null, 200],
  );
  for (const a of d.attempts.slice(0, 2)) {
    assert.equal(a.error, `timeout: no complete answer within ${TIMEOUT_MS} ms`);
    assert.ok(
      a.durationMs >= TIMEOUT_MS - 50,
      `ended at the deadline, not before: ${a.durationMs}`,
    );
  }
  assertWithinDeadline(d.attempts);
});

test('a 200 whose body trickles past the deadline counts as delivered: the status is the answer', async () => {
  rcv.on('/trickle', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('accepted;');
    let n = 0;
    const timer = setInterval(() => {
      if (res.destroyed || ++n > (TIMEOUT_MS + 1_000) / 200) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write('.');
    }, 200);
    intervals.add(timer);
  });
  const { deliveryId } = await sendTo('/trickle');
  const d = await settled(deliveryId);
  assert.equal(d.status, 'succeeded');
  assert.equal(d.attempts.length, 1, 'no retry: the receiver said 200');
  const [a] = d.attempts;
  assert.equal(a.statusCode, 200);
  assert.match(a.error, /^answered 200, then timeout: /, 'the log says the body was cut off');
  assert.match(a.responseBody, /^accepted;\.*$/, 'what arrived before the deadline is kept');
  assert.ok(a.durationMs >= TIMEOUT_MS - 50 && a.durationMs <= TIMEOUT_MS + SLACK_MS);
  assert.equal(rcv.hits('/trickle').length, 1);
});

test('a 10 MB answer: 64 KiB are read, the attempt is recorded at once, the log keeps the first 4 KiB', async () => {
  const chunk = Buffer.from('€'.repeat((64 * 1024) / 3)); // 3-byte characters: 4 KiB falls mid-character
  rcv.on('/huge', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 10 * 1024 * 1024 });
    let sent = 0;
    const more = () => {
      while (sent < 10 * 1024 * 1024 && !res.destroyed) {
        const part = chunk.subarray(0, Math.min(chunk.length, 10 * 1024 * 1024 - sent));
        sent += part.length;
        if (!res.write(part)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  const { deliveryId } = await sendTo('/huge');
  const d = await settled(deliveryId);
  assert.equal(d.status, 'succeeded');
  const [a] = d.attempts;
  assert.equal(a.statusCode, 200);
  assert.equal(a.error, null);
  assert.ok(
    a.durationMs < TIMEOUT_MS,
    `recorded quickly, not after the deadline: ${a.durationMs} ms`,
  );
  const bytes = Buffer.byteLength(a.responseBody);
  assert.ok(bytes <= 4096 && bytes > 4000, `the log keeps at most 4 KiB: ${bytes} bytes`);
  assert.ok(!a.responseBody.includes('\uFFFD'), 'no character is cut in half');
  // The connection that was cut short does not spoil the next delivery to the same receiver.
  rcv.on('/huge', behave);
  const next = await tenant.api.post(`/v1/tenants/${tenant.id}/events`, {
    type: 'order.paidhuge',
    data: {},
  });
  assert.equal((await settled(next.body.deliveries[0].id)).status, 'succeeded');
});

test('an answer holding bytes Postgres cannot store (NUL) is still recorded, and not sent again', async () => {
  rcv.on('/nul', (req, res) => {
    req.resume();
    res.end('ok\u0000binary\u0000');
  });
  const { deliveryId } = await sendTo('/nul');
  const d = await settled(deliveryId, 10_000);
  assert.equal(d.status, 'succeeded');
  assert.equal(d.attempts.length, 1);
  assert.equal(d.attempts[0].responseBody, 'ok\uFFFDbinary\uFFFD');
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(rcv.hits('/nul').length, 1, 'sent once');
});

test('every event reaches a receiver that resets and stalls at random, once it behaves', async () => {
  // Several events at once to one receiver whose first attempts fail in turns.
  let calls = 0;
  rcv.on('/flaky', (req, res, attempt) => {
    const n = calls++;
    if (attempt >= 3) return behave(req, res);
    if (n % 3 === 0) return void req.socket.destroy();
    if (n % 3 === 1) return void req.resume(); // never answers
    behave(req, res);
  });
  const type = 'order.paidflaky';
  await createEventType(t.api, type);
  await createEndpoint(tenant.api, tenant.id, { url: `${rcv.url}/flaky`, eventTypes: [type] });
  const ids: string[] = [];
  const deliveries: string[] = [];
  for (let i = 0; i < 9; i++) {
    const res = await tenant.api.post(`/v1/tenants/${tenant.id}/events`, { type, data: { i } });
    assert.equal(res.status, 202);
    ids.push(res.body.id);
    deliveries.push(res.body.deliveries[0].id);
  }
  for (const id of deliveries) {
    const d = await settled(id, 30_000);
    assert.equal(d.status, 'succeeded', JSON.stringify(d.attempts));
    assertWithinDeadline(d.attempts);
    for (const a of d.attempts.slice(0, -1)) assert.match(a.error, /^(connection reset|timeout): /);
  }
  const got = new Set(rcv.hits('/flaky').map((h) => h.eventId));
  assert.deepEqual(
    ids.filter((id) => !got.has(id)),
    [],
  );
});
