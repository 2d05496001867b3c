// One HTTP attempt: POST the signed body with undici through the shared guarded Agent, under a hard
// deadline, reading at most 64 KiB of the answer and following no redirect.
import { Agent, Dispatcher } from 'undici';
import { createGuardedLookup, vetLiteralHost } from '../net/resolve';
import { parseRetryAfter } from './retry-schedule';

/** The most of a response we read; the log keeps the first LOG_BODY_BYTES of it. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
export const LOG_BODY_BYTES = 4 * 1024;

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Aborts the attempt early (shutdown). */
  signal?: AbortSignal;
}

export interface SendResult {
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  responseBody: string | null;
  retryAfterMs: number | null;
  error: string | null;
}

export interface AgentOptions {
  connectTimeoutMs: number;
  deliveryTimeoutMs: number;
  allowedCidrs: string[];
}

/** The one Agent every delivery goes through: keep-alive pools per origin, connect-time SSRF guard. */
export function createDeliveryAgent(o: AgentOptions): Agent {
  return new Agent({
    connect: { timeout: o.connectTimeoutMs, lookup: createGuardedLookup(o.allowedCidrs) },
    headersTimeout: o.deliveryTimeoutMs,
    bodyTimeout: o.deliveryTimeoutMs,
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 30_000,
    pipelining: 1,
  });
}

/**
 * The text the delivery log keeps of a response: its first LOG_BODY_BYTES, cut on a character
 * boundary, with NUL (which a Postgres text column refuses, failing the whole batch of results)
 * replaced by U+FFFD like any other byte that is not text.
 */
export function logText(chunks: Buffer[], max = LOG_BODY_BYTES): string {
  let bytes = Buffer.concat(chunks).subarray(0, max);
  if (bytes.length === max) {
    // Drop a character cut in half at the end: step back over continuation bytes (10xxxxxx) to
    // the lead byte, and keep it only if its whole sequence fits.
    let lead = bytes.length - 1;
    while (lead > 0 && lead > bytes.length - 4 && (bytes[lead] & 0xc0) === 0x80) lead--;
    const b = bytes[lead];
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (lead + need > bytes.length) bytes = bytes.subarray(0, lead);
  }
  return bytes.toString('utf8').replaceAll('\u0000', '\uFFFD');
}

/** Literal IP hosts never reach the DNS lookup, so they are vetted here. Null when allowed. */
export function literalHostRefusal(url: string, allowedCidrs: string[]): string | null {
  const key = `${allowedCidrs.join(',')} ${url}`;
  const hit = verdicts.get(key);
  if (hit !== undefined) return hit;
  let verdict: string | null = null;
  try {
    vetLiteralHost(new URL(url).hostname, allowedCidrs);
  } catch (e) {
    verdict = (e as Error).message;
  }
  if (verdicts.size >= 10_000) verdicts.clear();
  verdicts.set(key, verdict);
  return verdict;
}

/** Verdicts by (ranges, URL): the same few endpoint URLs are vetted thousands of times a second. */
const verdicts = new Map<string, string | null>();

/** A short, stable text for a failed connection, for the delivery log. */
export function describeError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: unknown };
  const code = e?.code ?? (e?.cause as { code?: string } | undefined)?.code;
  const msg = e?.message ?? String(err);
  if (e?.name === 'TimeoutError' || (e?.name === 'AbortError' && /timeout/i.test(msg)))
    return `timeout: no complete answer within ${timeoutMs} ms`;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connect timeout: ${msg}`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `timeout: no complete answer within ${timeoutMs} ms`;
    case 'ECONNREFUSED':
      return `connection refused: ${msg}`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return `connection reset: ${msg}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `DNS lookup failed: ${msg}`;
    case 'ETARGETREFUSED':
      return `refused by the SSRF guard: ${msg}`;
  }
  if (code && /^(ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_SSL)/.test(code))
    return `TLS error: ${code}: ${msg}`;
  if (e?.name === 'AbortError') return `aborted: ${msg}`;
  return code ? `${code}: ${msg}` : msg;
}

/**
 * Runs `abort` when `signal` aborts (at once if it has); returns the function that forgets it.
 * Every send in flight waits on the same shutdown signal, hundreds at once, so each signal gets one
 * listener of its own and a set of what to abort: EventTarget's addEventListener and
 * removeEventListener walk the signal's whole list of listeners (to refuse a duplicate), a cost per
 * send that grew with the sends in flight.
 */
export function onAbort(signal: AbortSignal, abort: () => void): () => void {
  if (signal.aborted) {
    abort();
    return () => false;
  }
  let waiting = abortsBySignal.get(signal);
  if (!waiting) {
    const set = new Set<() => void>();
    waiting = set;
    abortsBySignal.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        const all = [...set];
        set.clear();
        // Each one runs, as its own listener would have: one that throws does not stop the rest.
        for (const f of all)
          try {
            f();
          } catch (e) {
            queueMicrotask(() => {
              throw e;
            });
          }
      },
      { once: true },
    );
  }
  const set = waiting;
  set.add(abort);
  return () => set.delete(abort);
}
const abortsBySignal = new WeakMap<AbortSignal, Set<() => void>>();

/** Where a URL's requests go: origin and path, parsed once per URL (a few endpoints, many sends). */
function targetOf(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (targets.size >= 10_000) targets.clear();
    targets.set(url, t);
  }
  return t;
}
const targets = new Map<string, { origin: string; path: string }>();

/**
 * One attempt as a handler of undici's dispatch API: the status, Retry-After and at most
 * MAX_RESPONSE_BYTES of the body, with no response stream, promise chain or AbortSignal per attempt
 * (measured: half the client CPU of `request()` per POST on loopback). `abort` ends it at any time,
 * before the socket is ours too (it is then aborted the moment it is).
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  statusCode: number | null = null;
  retryAfter: string | undefined;
  readonly chunks: Buffer[] = [];
  private size = 0;
  private capped = false;
  private controller: Dispatcher.DispatchController | null = null;
  private abortReason: Error | null = null;

  constructor(private readonly finish: (error: Error | null) => void) {}

  abort(reason: Error): void {
    if (this.controller) this.controller.abort(reason);
    else this.abortReason = reason;
    this.finish(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason) controller.abort(this.abortReason);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: the answer is still to come
    this.statusCode = statusCode;
    const ra = headers['retry-after'];
    this.retryAfter = Array.isArray(ra) ? ra[0] : ra;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.capped) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size >= MAX_RESPONSE_BYTES) {
      // Enough: the rest is never read (the connection is closed, not reused).
      this.capped = true;
      this.finish(null);
      controller.abort(new Error('response body cap reached'));
    }
  }

  onResponseEnd(): void {
    this.finish(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.finish(this.capped ? null : error);
  }
}

export function sendWebhook(
  agent: Agent,
  req: SendRequest,
  allowedCidrs: string[],
): Promise<SendResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const done = (r: Omit<SendResult, 'startedAt' | 'durationMs'>): SendResult => ({
    startedAt,
    durationMs: performance.now() - t0,
    ...r,
  });
  const refusal = literalHostRefusal(req.url, allowedCidrs);
  if (refusal)
    return Promise.resolve(
      done({
        statusCode: null,
        responseBody: null,
        retryAfterMs: null,
        error: `refused by the SSRF guard: ${refusal}`,
      }),
    );

  return new Promise<SendResult>((resolve) => {
    let settled = false;
    // One hard deadline per attempt, from before the connection to the last byte read.
    const timer = setTimeout(() => {
      const reason = new Error(`no complete answer within ${req.timeoutMs} ms`);
      reason.name = 'TimeoutError';
      handler.abort(reason);
    }, req.timeoutMs);
    const onShutdown = () => handler.abort(req.signal?.reason ?? new Error('aborted'));
    let forget: (() => unknown) | null = null;
    const handler: AttemptHandler = new AttemptHandler((err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      forget?.();
      const { statusCode } = handler;
      const retryAfterMs = parseRetryAfter(handler.retryAfter);
      if (err === null) {
        resolve(
          done({ statusCode, responseBody: logText(handler.chunks), retryAfterMs, error: null }),
        );
        return;
      }
      const error = describeError(err, req.timeoutMs);
      // A status that arrived before the body failed still counts: it is what the receiver answered
      // (docs/faults.md), and what arrived of the body is kept.
      resolve(
        done({
          statusCode,
          responseBody: statusCode === null ? null : logText(handler.chunks),
          retryAfterMs,
          error: statusCode === null ? error : `answered ${statusCode}, then ${error}`,
        }),
      );
    });
    if (req.signal?.aborted) {
      onShutdown();
      return; // settled: nothing to send
    }
    if (req.signal) forget = onAbort(req.signal, onShutdown);
    try {
      const { origin, path } = targetOf(req.url);
      agent.dispatch(
        { origin, path, method: 'POST', headers: req.headers, body: req.body },
        handler,
      );
    } catch (e) {
      handler.abort(e as Error);
    }
  });
}
