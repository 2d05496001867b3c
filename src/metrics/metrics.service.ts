// Prometheus metrics. One Registry per app instance (never prom-client's global one), so several
// Tern apps in one process (tests) keep their own counters. Other modules record through the typed
// methods; gauges that need I/O are read on scrape from sources their owners register.
import { Injectable, Logger } from '@nestjs/common';
import { isMainThread } from 'node:worker_threads';
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  MetricObjectWithValues,
  MetricValue,
  Registry,
} from 'prom-client';
import { DELIVERY_STATUSES } from '../deliveries/delivery-log.query';

export type DeliveryOutcome = 'succeeded' | 'failed' | 'retry' | 'cancelled';
export type AttemptResult = 'success' | 'failure';

export interface QueueDepth {
  waiting: number;
  delayed: number;
  active: number;
}
export type QueueDepthSource = () => Promise<QueueDepth>;
/** Delivery counts keyed by status; statuses not present count as 0. */
export type DeliveryStatusCountSource = () => Promise<Record<string, number>>;
/** Another registry of this process (npm start's dispatcher thread), merged into each scrape. */
export type PeerMetrics = () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;

const OUTCOMES: DeliveryOutcome[] = ['succeeded', 'failed', 'retry', 'cancelled'];
const RESULTS: AttemptResult[] = ['success', 'failure'];
const QUEUE_STATES: (keyof QueueDepth)[] = ['waiting', 'delayed', 'active'];
/** 5 ms .. 30 s: a fast receiver answers in milliseconds, the default timeout is 15 s. */
export const ATTEMPT_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30,
];
/** The GROUP BY over deliveries runs at most once per this many ms, however often we are scraped. */
export const STATUS_COUNT_TTL_MS = 5_000;
/** A scrape never waits longer than this for Redis or Postgres. */
const SOURCE_TIMEOUT_MS = 2_000;
/** Nor longer than this for a peer registry. */
const PEER_TIMEOUT_MS = 1_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

@Injectable()
export class MetricsService {
  private readonly logger = new Logger(MetricsService.name);
  readonly registry = new Registry();
  private readonly eventsAccepted: Counter;
  private readonly deliveries: Counter<'outcome'>;
  private readonly attemptSeconds: Histogram<'result'>;
  private readonly sweeperReenqueuedTotal: Counter;
  private readonly endpointsDisabled: Counter;
  private queueDepthSource: QueueDepthSource | null = null;
  private statusCountSource: DeliveryStatusCountSource | null = null;
  private statusCounts: { at: number; counts: Promise<Record<string, number>> } | null = null;
  private readonly peers: {
    read: PeerMetrics;
    last: MetricObjectWithValues<MetricValue<string>>[];
  }[] = [];

  constructor() {
    // Standard process_* and nodejs_* names (no prefix) so stock dashboards work. Once per process:
    // on npm start's dispatcher thread they would repeat the API thread's (and be summed with them).
    if (isMainThread) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.eventsAccepted = new Counter({
      name: 'tern_events_accepted_total',
      help: 'Events accepted by the API (after idempotency: a replayed key is not counted).',
      registers,
    });
    this.deliveries = new Counter({
      name: 'tern_deliveries_total',
      help: 'Delivery attempt outcomes: succeeded, failed (exhausted), retry (scheduled again), cancelled.',
      labelNames: ['outcome'],
      registers,
    });
    this.attemptSeconds = new Histogram({
      name: 'tern_delivery_attempt_duration_seconds',
      help: 'Duration of one HTTP delivery attempt, by result.',
      labelNames: ['result'],
      buckets: ATTEMPT_DURATION_BUCKETS,
      registers,
    });
    this.sweeperReenqueuedTotal = new Counter({
      name: 'tern_sweeper_reenqueued_total',
      help: 'Deliveries the sweeper put back on the queue (lost jobs, expired leases).',
      registers,
    });
    this.endpointsDisabled = new Counter({
      name: 'tern_endpoints_disabled_total',
      help: 'Endpoints disabled automatically (consecutive failures or 410 Gone).',
      registers,
    });
    // Zero every labelled series up front, so rate() works from the first scrape.
    for (const outcome of OUTCOMES) this.deliveries.inc({ outcome }, 0);
    for (const result of RESULTS) this.attemptSeconds.zero({ result });

    // Gauges read from Redis and Postgres on scrape: not on npm start's dispatcher thread, whose
    // metrics the API thread merges into its own, which reads these already.
    if (!isMainThread) return;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    new Gauge({
      name: 'tern_queue_jobs',
      help: 'Jobs in the delivery queue by state, read from Redis on scrape.',
      labelNames: ['state'],
      registers,
      async collect() {
        await metrics.collectQueueDepth(this);
      },
    });
    new Gauge({
      name: 'tern_deliveries_by_status',
      help: `Deliveries in the database by status (refreshed at most every ${STATUS_COUNT_TTL_MS / 1000} s).`,
      labelNames: ['status'],
      registers,
      async collect() {
        await metrics.collectStatusCounts(this);
      },
    });
  }

  eventAccepted(n = 1): void {
    this.eventsAccepted.inc(n);
  }

  deliveryOutcome(outcome: DeliveryOutcome, n = 1): void {
    this.deliveries.inc({ outcome }, n);
  }

  attemptDuration(result: AttemptResult, seconds: number): void {
    this.attemptSeconds.observe({ result }, seconds);
  }

  sweeperReenqueued(n: number): void {
    if (n > 0) this.sweeperReenqueuedTotal.inc(n);
  }

  endpointDisabled(): void {
    this.endpointsDisabled.inc();
  }

  /** The dispatcher registers how to read its queue's job counts; read on every scrape. */
  setQueueDepthSource(fn: QueueDepthSource): void {
    this.queueDepthSource = fn;
  }

  /** The deliveries module registers its status count query; cached for STATUS_COUNT_TTL_MS. */
  setDeliveryStatusCountSource(fn: DeliveryStatusCountSource): void {
    this.statusCountSource = fn;
    this.statusCounts = null;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Merges another registry of this process into every scrape (see PeerMetrics). */
  addPeer(peer: PeerMetrics): void {
    this.peers.push({ read: peer, last: [] });
  }

  /**
   * The Prometheus text exposition of every metric, a peer's summed in. A peer slow to answer (a
   * blocked event loop) is given its last answer, so its counters never vanish from a scrape and
   * come back looking like a reset.
   */
  async render(): Promise<string> {
    if (this.peers.length === 0) return this.registry.metrics();
    const all = await Promise.all([
      this.registry.getMetricsAsJSON(),
      ...this.peers.map(async (p) => {
        try {
          p.last = await withTimeout(p.read(), PEER_TIMEOUT_MS);
        } catch {
          // keep the last answer
        }
        return p.last;
      }),
    ]);
    return AggregatorRegistry.aggregate(all).metrics();
  }

  private async collectQueueDepth(gauge: Gauge<'state'>): Promise<void> {
    gauge.reset();
    if (!this.queueDepthSource) return;
    try {
      const depth = await withTimeout(this.queueDepthSource(), SOURCE_TIMEOUT_MS);
      for (const state of QUEUE_STATES) gauge.set({ state }, depth[state] ?? 0);
    } catch (e) {
      // No series rather than a stale or made-up number; the scrape itself still succeeds.
      this.logger.warn(`queue depth unavailable: ${(e as Error).message}`);
    }
  }

  private async collectStatusCounts(gauge: Gauge<'status'>): Promise<void> {
    if (!this.statusCountSource) return;
    const now = Date.now();
    if (!this.statusCounts || now - this.statusCounts.at >= STATUS_COUNT_TTL_MS) {
      // Cache the promise itself, so concurrent scrapes share one query.
      const counts = withTimeout(this.statusCountSource(), SOURCE_TIMEOUT_MS);
      this.statusCounts = { at: now, counts };
      counts.catch(() => {
        if (this.statusCounts?.counts === counts) this.statusCounts = null;
      });
    }
    try {
      const counts = await this.statusCounts.counts;
      gauge.reset();
      for (const status of DELIVERY_STATUSES) gauge.set({ status }, counts[status] ?? 0);
    } catch (e) {
      gauge.reset();
      this.logger.warn(`delivery status counts unavailable: ${(e as Error).message}`);
    }
  }
}
