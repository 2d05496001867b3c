// The worker's engine. Deliveries offered by queue jobs and the sweeper wait here per endpoint;
// each endpoint gets a bounded number of sends at once (one while it keeps failing), so a dead
// endpoint cannot hold every slot. Claims and results are written in batches: one round trip
// claims many deliveries, one records many attempts.
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Agent } from 'undici';
import { TERN_CONFIG, TernConfig } from '../config/config';
import {
  AttemptRecord,
  ClaimedDelivery,
  DeliveryClaimsService,
} from '../deliveries/delivery-claims.service';
import { signatureHeader } from '../signing/standard-webhooks';
import { decideOutcome, Outcome } from './outcome';
import { createDeliveryAgent, sendWebhook, SendResult } from './sender';
import { DeliveryOutcomes } from './delivery-outcomes.service';
import { MetricsService } from '../metrics/metrics.service';
import { isDependencyDown } from '../common/http-error.filter';
import { QueryFailedError } from 'typeorm';

/** Headers a receiver gets that an endpoint's own headers can never replace. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-webhook-event',
  'x-webhook-delivery-id',
  'x-webhook-retry',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
]);

/** Deliveries waiting in memory before queue jobs are made to wait (backpressure). */
const HIGH_WATER = 50_000;
/** Results per recording statement at most. */
const RECORD_BATCH = 500;
/**
 * A batch of results Postgres could not take (connection lost) is tried again for this long, at
 * most half the lease: a result written late still counts while its claim is ours, where a result
 * given up makes the sweeper send the delivery again once the lease expires.
 */
const RECORD_RETRY_MS = 10_000;

interface EndpointState {
  waiting: string[];
  inFlight: number;
  /** Consecutive failed attempts: while > 0 the endpoint gets one send at a time. */
  failing: number;
  rate: number | null;
  tokens: number;
  tokensAt: number;
}

export function buildHeaders(
  d: ClaimedDelivery,
  userAgent: string,
  nowSeconds: number,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(d.headers)) {
    if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  headers['content-type'] = 'application/json';
  headers['user-agent'] = userAgent;
  headers['webhook-id'] = d.eventId;
  headers['webhook-timestamp'] = String(nowSeconds);
  headers['webhook-signature'] = signatureHeader(d.secrets, d.eventId, nowSeconds, d.body);
  headers['x-webhook-event'] = d.eventType;
  headers['x-webhook-delivery-id'] = d.id;
  headers['x-webhook-retry'] = String(d.attempt - 1);
  return headers;
}

@Injectable()
export class DispatcherService implements OnApplicationShutdown {
  private readonly logger = new Logger(DispatcherService.name);
  private readonly agent: Agent;
  private readonly userAgent: string;
  private readonly endpoints = new Map<string, EndpointState>();
  /** Ids waiting here or in flight: an offer of one of them again is a no-op. */
  private readonly known = new Set<string>();
  private waitingCount = 0;
  private inFlight = 0;
  private pumping = false;
  private pumpAgain = false;
  private pumpTimer: NodeJS.Timeout | null = null;
  private readonly drainWaiters: (() => void)[] = [];
  private readonly pendingResults: {
    record: AttemptRecord;
    claimed: ClaimedDelivery;
    outcome: Outcome;
    result: SendResult;
  }[] = [];
  private recording: Promise<void> | null = null;
  private readonly sends = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private stopping = false;

  constructor(
    @Inject(TERN_CONFIG) private readonly config: TernConfig,
    private readonly claims: DeliveryClaimsService,
    private readonly outcomes: DeliveryOutcomes,
    private readonly metrics: MetricsService,
  ) {
    this.agent = createDeliveryAgent({
      connectTimeoutMs: config.connectTimeoutMs,
      deliveryTimeoutMs: config.deliveryTimeoutMs,
      allowedCidrs: config.allowedTargetCidrs,
    });
    this.userAgent = `Tern-Webhooks/${config.version}`;
  }

  /** Takes deliveries to try ([deliveryId, endpointId]); resolves once there is room for more. */
  async offer(items: [string, string][]): Promise<void> {
    if (this.stopping) return;
    for (const [id, endpointId] of items) {
      if (this.known.has(id)) continue;
      this.known.add(id);
      this.state(endpointId).waiting.push(id);
      this.waitingCount++;
    }
    this.pump();
    if (this.waitingCount > HIGH_WATER)
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  stats(): { waiting: number; inFlight: number; endpoints: number } {
    return { waiting: this.waitingCount, inFlight: this.inFlight, endpoints: this.endpoints.size };
  }

  private state(endpointId: string): EndpointState {
    let s = this.endpoints.get(endpointId);
    if (!s) {
      s = { waiting: [], inFlight: 0, failing: 0, rate: null, tokens: 0, tokensAt: 0 };
      this.endpoints.set(endpointId, s);
    }
    return s;
  }

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pumpLoop()
      .catch((e) => this.logger.error({ err: e }, `dispatch pump failed: ${(e as Error).message}`))
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain) this.pump();
      });
  }

  /** Picks what may be sent now from every endpoint's line, claims it in one statement, sends it. */
  private async pumpLoop(): Promise<void> {
    for (;;) {
      this.pumpAgain = false;
      const picked: { id: string; endpointId: string }[] = [];
      let earliestToken = Infinity;
      const now = Date.now();
      for (const [endpointId, s] of this.endpoints) {
        if (s.waiting.length === 0) {
          if (s.inFlight === 0 && s.failing === 0 && s.rate === null)
            this.endpoints.delete(endpointId);
          continue;
        }
        const limit = s.failing > 0 ? 1 : this.config.endpointConcurrency;
        let free = Math.min(
          limit - s.inFlight,
          this.config.dispatchConcurrency - this.inFlight - picked.length,
        );
        if (s.rate !== null) {
          s.tokens = Math.min(s.rate, s.tokens + ((now - s.tokensAt) / 1000) * s.rate);
          s.tokensAt = now;
          if (s.tokens < 1)
            earliestToken = Math.min(earliestToken, ((1 - s.tokens) / s.rate) * 1000);
          free = Math.min(free, Math.floor(s.tokens));
          s.tokens -= Math.max(0, Math.min(free, s.waiting.length));
        }
        for (let i = 0; i < free && s.waiting.length > 0; i++) {
          picked.push({ id: s.waiting.shift()!, endpointId });
          s.inFlight++;
        }
      }
      if (earliestToken !== Infinity && !this.pumpTimer) {
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = null;
          this.pump();
        }, Math.ceil(earliestToken));
      }
      if (picked.length === 0) {
        if (!this.pumpAgain) return;
        continue;
      }
      this.inFlight += picked.length;
      this.waitingCount -= picked.length;
      if (this.waitingCount <= HIGH_WATER / 2) this.drainWaiters.splice(0).forEach((w) => w());
      await this.claimAndSend(picked);
    }
  }

  private async claimAndSend(picked: { id: string; endpointId: string }[]): Promise<void> {
    let claimed: ClaimedDelivery[] = [];
    try {
      claimed = await this.claims.claim(
        picked.map((p) => p.id),
        randomUUID(),
        this.config.leaseMs,
      );
    } catch (e) {
      this.logger.warn(`claim failed (the sweeper will retry): ${(e as Error).message}`);
    }
    const got = new Set(claimed.map((c) => c.id));
    for (const p of picked) {
      if (!got.has(p.id)) this.release(p.id, p.endpointId); // done, owned elsewhere, or not due
    }
    for (const d of claimed) {
      const s = this.state(d.endpointId);
      s.rate = d.rateLimitPerSecond;
      const send = this.sendOne(d).finally(() => this.sends.delete(send));
      this.sends.add(send);
    }
  }

  private release(id: string, endpointId: string): void {
    this.known.delete(id);
    this.inFlight--;
    const s = this.endpoints.get(endpointId);
    if (s) s.inFlight--;
  }

  private async sendOne(d: ClaimedDelivery): Promise<void> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const result = await sendWebhook(
      this.agent,
      {
        url: d.url,
        headers: buildHeaders(d, this.userAgent, nowSeconds),
        body: d.body,
        timeoutMs: this.config.deliveryTimeoutMs,
        signal: this.shutdown.signal,
      },
      this.config.allowedTargetCidrs,
    );
    const outcome = decideOutcome(
      { statusCode: result.statusCode, retryAfterMs: result.retryAfterMs },
      {
        attempts: d.attempt,
        maxAttempts: d.maxAttempts,
        endpointEnabled: d.endpointEnabled,
        manualRetry: d.manualRetry,
        isAlert: d.isAlert,
      },
      this.config.retrySchedule,
    );
    this.metrics.attemptDuration(
      outcome.status === 'succeeded' ? 'success' : 'failure',
      result.durationMs / 1000,
    );
    const s = this.state(d.endpointId);
    s.failing = outcome.status === 'succeeded' ? 0 : s.failing + 1;
    this.inFlight--;
    s.inFlight--;
    this.pump(); // a slot is free
    const error =
      result.error ??
      (outcome.status === 'succeeded'
        ? null
        : `HTTP ${result.statusCode}${result.statusCode === 410 ? ' Gone' : ''}`);
    this.pendingResults.push({
      claimed: d,
      outcome,
      result,
      record: {
        deliveryId: d.id,
        claimId: d.claimId,
        attempt: d.attempt,
        startedAt: result.startedAt,
        durationMs: result.durationMs,
        statusCode: result.statusCode,
        responseBody: result.responseBody,
        error,
        status: outcome.status,
        nextAttemptAt: outcome.retryInMs !== null ? new Date(Date.now() + outcome.retryInMs) : null,
        endpointId: d.endpointId,
      },
    });
    await this.flushResults();
  }

  /** Group commit: while one batch is being written, later results gather for the next. */
  private flushResults(): Promise<void> {
    if (this.recording)
      return this.recording.then(() =>
        this.pendingResults.length ? this.flushResults() : undefined,
      );
    const batch = this.pendingResults.splice(0, RECORD_BATCH);
    if (batch.length === 0) return Promise.resolve();
    this.recording = this.writeBatch(batch).finally(() => {
      this.recording = null;
    });
    return this.recording;
  }

  private async writeBatch(
    batch: {
      record: AttemptRecord;
      claimed: ClaimedDelivery;
      outcome: Outcome;
      result: SendResult;
    }[],
  ): Promise<void> {
    let written = new Set<string>();
    const giveUpAt = Date.now() + Math.min(RECORD_RETRY_MS, this.config.leaseMs / 2);
    for (let wait = 250; ; wait = Math.min(2 * wait, 2_000)) {
      try {
        written = await this.claims.record(batch.map((b) => b.record));
        break;
      } catch (e) {
        const down =
          isDependencyDown(e) || (e instanceof QueryFailedError && isDependencyDown(e.driverError));
        if (down && !this.stopping && Date.now() + wait < giveUpAt) {
          this.logger.warn(
            `could not record ${batch.length} attempts, trying again: ${(e as Error).message}`,
          );
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        // The claims' leases will expire and the sweeper will make these deliveries due again.
        this.logger.error(
          { err: e },
          `could not record ${batch.length} attempts: ${(e as Error).message}`,
        );
        break;
      }
    }
    for (const b of batch) this.known.delete(b.claimed.id);
    const recorded = batch.filter((b) => written.has(b.claimed.id));
    await this.outcomes.afterRecorded(recorded);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    const inFlight = Promise.allSettled([...this.sends]);
    const grace = new Promise((r) => setTimeout(r, this.config.shutdownGraceMs).unref());
    await Promise.race([inFlight, grace]);
    this.shutdown.abort(new Error('worker shutting down'));
    await Promise.allSettled([...this.sends]);
    await this.flushResults();
    await this.agent.close().catch(() => undefined);
  }

  /** Waits until nothing is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.sends.size > 0 || this.recording) {
      await Promise.allSettled([...this.sends]);
      if (this.recording) await this.recording;
    }
  }
}
