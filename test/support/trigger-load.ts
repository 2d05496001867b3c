// A client that keeps triggering events while a fault test breaks things, and remembers every
// answer: which idempotency keys got a 202 (and the event id), which got something else, how long
// each took. Requests carry a timeout of their own, so a hung API shows up as a failure, not a hang.
import type { Api } from './harness';

export interface TriggerResult {
  key: string;
  status: number;
  /** The event id of a 202. */
  id?: string;
  deliveries?: number;
  body: any;
  retryAfter: string | null;
  ms: number;
  /** Set when no HTTP answer came back (client-side timeout or connection error). */
  error?: string;
  at: number;
}

export interface TriggerLoad {
  results: TriggerResult[];
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<TriggerResult[]>;
  /** Waits until at least `n` more answers with this status arrive. */
  waitFor(status: number, n?: number, timeoutMs?: number): Promise<void>;
}

const running = new Set<TriggerLoad>();

/** Stops every load still running (an `after` hook's job, when a test failed half-way). */
export async function stopAllTriggering(): Promise<void> {
  await Promise.all([...running].map((l) => l.stop()));
}

export function startTriggering(
  api: Api,
  tenantId: string,
  type: string,
  opts: { lanes?: number; requestTimeoutMs?: number; keyPrefix?: string; pauseMs?: number } = {},
): TriggerLoad {
  const lanes = opts.lanes ?? 4;
  const timeoutMs = opts.requestTimeoutMs ?? 15_000;
  const prefix = opts.keyPrefix ?? `k${Date.now().toString(36)}`;
  const results: TriggerResult[] = [];
  let sending = true;
  let n = 0;
  const lane = async () => {
    while (sending) {
      const key = `${prefix}-${n++}`;
      const r = await triggerOnce(api, tenantId, type, key, timeoutMs);
      results.push(r);
      // No answer at all (the API is gone): do not spin.
      const pause = r.status === 0 ? Math.max(100, opts.pauseMs ?? 0) : opts.pauseMs;
      if (pause) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  };
  const done = Promise.all(Array.from({ length: lanes }, lane));
  const load: TriggerLoad = {
    results,
    stop: async () => {
      sending = false;
      running.delete(load);
      await done;
      return results;
    },
    waitFor: async (status, count = 1, waitMs = 20_000) => {
      const from = results.filter((r) => r.status === status).length;
      const deadline = Date.now() + waitMs;
      while (results.filter((r) => r.status === status).length < from + count) {
        if (Date.now() > deadline)
          throw new Error(`no ${count} more answers ${status} within ${waitMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  running.add(load);
  return load;
}

/** One POST /events with an idempotency key; never throws. */
export async function triggerOnce(
  api: Api,
  tenantId: string,
  type: string,
  key: string,
  timeoutMs = 15_000,
): Promise<TriggerResult> {
  const t0 = Date.now();
  try {
    const res = await fetch(`${api.baseUrl}/v1/tenants/${tenantId}/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${api.key}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({ type, data: { key } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text, and the test will say so
    }
    return {
      key,
      status: res.status,
      id: res.status === 202 ? body.id : undefined,
      deliveries: res.status === 202 ? body.deliveries.length : undefined,
      body,
      retryAfter: res.headers.get('retry-after'),
      ms: Date.now() - t0,
      at: t0,
    };
  } catch (e) {
    return {
      key,
      status: 0,
      body: null,
      retryAfter: null,
      ms: Date.now() - t0,
      error: (e as Error).message,
      at: t0,
    };
  }
}
