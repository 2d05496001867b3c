// Test harness: a fresh database per test file, Tern running in-process (or as a child process)
// against real Postgres and Redis, and real HTTP receivers on 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import Redis from 'ioredis';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, createServer as createTcpServer } from 'node:net';
import { spawn, ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { loadConfig, TernConfig } from '../../src/config/config';
import { runMigrations } from '../../src/database/data-source';
import { createApp } from '../../src/app';

export const ADMIN_KEY = 'test_admin_key_0123456789abcdef';
const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const suffix = () => `${process.pid}_${randomBytes(4).toString('hex')}`;

/** Creates an empty database; returns its URL and a function that drops it. */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tern_t_${suffix()}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    drop: async () => {
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function testEnv(
  databaseUrl: string,
  env: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    ADMIN_API_KEY: ADMIN_KEY,
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: `tern_t_${suffix()}`,
    PORT: '0',
    HOST: '127.0.0.1',
    ALLOWED_TARGET_CIDRS: '127.0.0.0/8',
    RETRY_SCHEDULE: '200ms,400ms,800ms,1600ms',
    SWEEP_INTERVAL_MS: '500',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    ...env,
  };
}

export interface RunningTern {
  url: string;
  config: TernConfig;
  app: INestApplication;
  databaseUrl: string;
  api: Api;
  close(): Promise<void>;
}

/** Starts Tern in this process on a random port with its own database and queue prefix. */
export async function startTern(
  env: Record<string, string> = {},
  databaseUrl?: string,
): Promise<RunningTern> {
  const db = databaseUrl ? null : await freshDatabase();
  const dbUrl = databaseUrl ?? db!.url;
  const config = loadConfig(testEnv(dbUrl, env), '0.0.0-test');
  await runMigrations(dbUrl);
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    config,
    app,
    databaseUrl: dbUrl,
    api: new Api(url, ADMIN_KEY),
    close: async () => {
      await app.close();
      await dropQueue(config.queuePrefix);
      if (db) await db.drop();
    },
  };
}

/**
 * Deletes every Redis key under a queue prefix: a closed test Tern leaves none behind (Bull keeps
 * its job id counter, failed jobs and delayed retries otherwise).
 */
export async function dropQueue(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } catch {
    // Redis is down (a fault test): nothing to clean that we could reach
  } finally {
    redis.disconnect();
  }
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A tiny JSON client for driving the API over HTTP. */
export class Api {
  constructor(
    readonly baseUrl: string,
    readonly key: string | null,
  ) {}

  as(key: string | null): Api {
    return new Api(this.baseUrl, key);
  }

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.key) h.authorization = `Bearer ${this.key}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + path, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // leave as text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  get = <T = any>(path: string) => this.request<T>('GET', path);
  post = <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>('POST', path, body ?? {}, headers);
  put = <T = any>(path: string, body?: unknown) => this.request<T>('PUT', path, body);
  patch = <T = any>(path: string, body?: unknown) => this.request<T>('PATCH', path, body);
  delete = <T = any>(path: string) => this.request<T>('DELETE', path);
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

export type Responder = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Replaces how the receiver answers (default: 200 "ok"). */
  respond(fn: Responder): void;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that records every request it gets. */
export async function startReceiver(responder?: Responder): Promise<Receiver> {
  let respond: Responder = responder ?? ((_r, res) => void res.end('ok'));
  const requests: ReceivedRequest[] = [];
  const waiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const r: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(r);
      waiters.splice(0).forEach((w) => w());
      Promise.resolve(respond(r, res)).catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond: (fn) => {
      respond = fn;
    },
    waitFor: async (count, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(
            `receiver got ${requests.length} of ${count} requests in ${timeoutMs} ms`,
          );
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 250));
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return requests.slice(0, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP port free on 127.0.0.1 right now (for child processes that need a fixed PORT). */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createTcpServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

/** Polls `fn` until it returns a truthy value or the time runs out. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The fields an error answer's `details` name, in order. */
export const fieldsOf = (body: any): string[] => (body?.details ?? []).map((d: any) => d.field);

/** Waits (20 s at most) until the Tern at `url` answers /health with 2xx. */
export async function waitUp(url: string): Promise<void> {
  await eventually(
    async () => (await fetch(`${url}/health`).catch(() => null))?.ok,
    20_000,
    `${url} up`,
  );
}

/** Starts a Tern process (`main` = API + dispatcher, `api`, or `worker`) as a child, for fault tests. */
export function spawnTern(
  role: 'all' | 'api' | 'worker',
  env: Record<string, string>,
  stderr: 'inherit' | 'pipe' = 'inherit',
): ChildProcess {
  const entry = role === 'worker' ? 'worker.js' : 'main.js';
  const dist = join(__dirname, '..', '..', 'src');
  return spawn(process.execPath, [join(dist, entry)], {
    env: { ...process.env, ...env, TERN_ROLE: role === 'worker' ? 'worker' : role },
    stdio: ['ignore', 'ignore', stderr],
  });
}

// Small factories.
let counter = 0;
export const uniq = (p: string) => `${p}${Date.now().toString(36)}${(counter++).toString(36)}`;

export async function createTenant(api: Api, id?: string): Promise<{ id: string; apiKey: string }> {
  const res = await api.post('/v1/tenants', { id: id ?? uniq('t_'), name: 'Test tenant' });
  if (res.status !== 201)
    throw new Error(`createTenant: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, apiKey: res.body.apiKey };
}

export async function createEventType(api: Api, name: string, schema?: object): Promise<void> {
  const res = await api.post('/v1/event-types', { name, category: name.split('.')[0], schema });
  if (res.status !== 201 && res.status !== 409)
    throw new Error(`createEventType: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function createEndpoint(
  api: Api,
  tenantId: string,
  body: Record<string, unknown>,
): Promise<{ id: string; secret: string; [k: string]: any }> {
  const res = await api.post(`/v1/tenants/${tenantId}/endpoints`, body);
  if (res.status !== 201)
    throw new Error(`createEndpoint: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
