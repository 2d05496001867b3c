// The delivery queue's producer: the only way to add a job. Jobs are wake-up calls; Postgres holds
// the truth, so an add that fails (Redis down) is logged and left to the sweeper.
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { InjectQueue } from '@nestjs/bull';
import type { JobOptions, Queue } from 'bull';
import { appendTo } from '../common/group';

export const DELIVERY_QUEUE = 'deliveries';

export const JOB_DELIVER = 'deliver';
export const JOB_ALERT_WEBHOOK = 'alert-webhook';

/**
 * Events to deliver to endpoints: every event of `eventIds` has a delivery to every target
 * [endpointId, n], with the id deliveryId(eventId, n) (common/ids.ts). This is how ingestion wakes
 * the deliveries of a write: the fan-out of a (tenant, type) is the same for each of its events,
 * so a job carries each event's id once and each endpoint once, not an id per delivery, and the
 * dispatcher makes the ids only for what its lines take (see DispatcherService.offerEvents).
 */
export type EventGroup = [eventIds: string[], targets: [endpointId: string, n: number][]];

/**
 * Deliveries to try: `g`, events by fan-out (EventGroup); `e`, ids by endpoint ([endpointId,
 * deliveryIds]: retries, replays, the sweeper). `d` ([deliveryId, endpointId] pairs) is the form
 * jobs had before either: the processor still reads it, for a queue an older Tern filled.
 */
export interface DeliverJob {
  g?: EventGroup[];
  e?: [string, string[]][];
  d?: [string, string][];
}

/** [deliveryId, endpointId] pairs grouped by endpoint (added to `groups`), in the order given. */
export function byEndpoint(
  items: Iterable<[string, string]>,
  groups = new Map<string, string[]>(),
): Map<string, string[]> {
  for (const [id, endpointId] of items) appendTo(groups, endpointId, id);
  return groups;
}

export interface AlertWebhookJob {
  alertId: string;
}

/** Deliveries per job at the most. */
const CHUNK = 1_000;
/**
 * Immediate wake-ups are gathered this long into one add. A Bull job costs the producer about
 * 250 us of CPU to add and the worker more to take and complete, whatever it carries: one per
 * group-committed write (hundreds a second) made job handling a tenth of Tern's CPU per delivery.
 * Deliveries wait this much longer for their first attempt at the most.
 */
export const WAKE_GATHER_MS = 10;
/** How long an add may wait on Redis before we give up and leave the work to the sweeper. */
const ADD_TIMEOUT_MS = 2_000;

const baseOptions: JobOptions = { removeOnComplete: true, removeOnFail: 1_000, attempts: 1 };

/** Wake-ups waiting to be added: events by fan-out, and ids by endpoint. */
export interface Wakeups {
  events: EventGroup[];
  byEndpoint: Map<string, string[]>;
}

/**
 * Wake-up jobs of `chunk` deliveries at most: an event group or an endpoint's ids split across
 * two jobs only where one fills up (a group whose fan-out alone is larger goes one event a job).
 */
export function wakeJobs(w: Wakeups, chunk = CHUNK): DeliverJob[] {
  const jobs: DeliverJob[] = [];
  let job: DeliverJob = {};
  let room = chunk;
  const full = () => {
    jobs.push(job);
    job = {};
    room = chunk;
  };
  for (const [eventIds, targets] of w.events) {
    if (targets.length === 0) continue;
    for (let at = 0; at < eventIds.length; ) {
      let fit = Math.floor(room / targets.length);
      if (fit === 0) {
        if (room < chunk) {
          full(); // no room for one more event here: the next job
          continue;
        }
        fit = 1; // a fan-out larger than a job: one event a job
      }
      const part = at === 0 && eventIds.length <= fit ? eventIds : eventIds.slice(at, at + fit);
      (job.g ??= []).push([part, targets]);
      at += part.length;
      room -= part.length * targets.length;
      if (room <= 0) full();
    }
  }
  for (const [endpointId, ids] of w.byEndpoint) {
    for (let at = 0; at < ids.length; ) {
      const part = at === 0 && ids.length <= room ? ids : ids.slice(at, at + room);
      (job.e ??= []).push([endpointId, part]);
      at += part.length;
      room -= part.length;
      if (room === 0) full();
    }
  }
  if (job.g || job.e) jobs.push(job);
  return jobs;
}

@Injectable()
export class DeliveryQueue implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryQueue.name);

  constructor(
    @InjectQueue(DELIVERY_QUEUE) private readonly queue: Queue,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.metrics.setQueueDepthSource(() => this.depth());
  }

  /** Shutdown, first step: wake-ups still being gathered are added while Redis is open. */
  async onModuleDestroy(): Promise<void> {
    await this.gatheredDone;
  }

  /** Immediate wake-ups gathered for WAKE_GATHER_MS: one add for all of them. */
  private gathered: Wakeups = { events: [], byEndpoint: new Map() };
  private gatheredDone: Promise<boolean> | null = null;

  /**
   * Asks a worker to try these deliveries ([deliveryId, endpointId]), now or after `delayMs`.
   * Never throws.
   */
  async wake(items: [string, string][], delayMs = 0): Promise<boolean> {
    if (items.length === 0) return true;
    if (delayMs > 0) return this.addNow({ events: [], byEndpoint: byEndpoint(items) }, delayMs);
    byEndpoint(items, this.gathered.byEndpoint);
    return this.gather();
  }

  /** Asks a worker to try these events' deliveries now (see EventGroup). Never throws. */
  async wakeEvents(groups: EventGroup[]): Promise<boolean> {
    if (groups.length === 0) return true;
    this.gathered.events.push(...groups);
    return this.gather();
  }

  /** Concurrent requests each wake a few deliveries: gathered, N requests cost one add. */
  private gather(): Promise<boolean> {
    this.gatheredDone ??= new Promise<void>((resolve) => setTimeout(resolve, WAKE_GATHER_MS)).then(
      () => {
        const all = this.gathered;
        this.gathered = { events: [], byEndpoint: new Map() };
        this.gatheredDone = null;
        return this.addNow(all, 0);
      },
    );
    return this.gatheredDone;
  }

  private addNow(w: Wakeups, delayMs: number): Promise<boolean> {
    const opts = delayMs > 0 ? { ...baseOptions, delay: Math.ceil(delayMs) } : baseOptions;
    const jobs = wakeJobs(w).map((data) => ({ name: JOB_DELIVER, data, opts }));
    let total = 0;
    for (const [eventIds, targets] of w.events) total += eventIds.length * targets.length;
    for (const ids of w.byEndpoint.values()) total += ids.length;
    return this.addBulk(jobs, `${total} deliveries`);
  }

  /** Many wake-ups with their own delays, in one round trip. */
  async wakeEach(items: { delivery: [string, string]; delayMs: number }[]): Promise<boolean> {
    if (items.length === 0) return true;
    const jobs = items.map((i) => ({
      name: JOB_DELIVER,
      data: { e: [[i.delivery[1], [i.delivery[0]]]] } as DeliverJob,
      opts: i.delayMs > 0 ? { ...baseOptions, delay: Math.ceil(i.delayMs) } : baseOptions,
    }));
    return this.addBulk(jobs, `${items.length} retries`);
  }

  async alertWebhook(alertId: string): Promise<boolean> {
    const data: AlertWebhookJob = { alertId };
    return this.addBulk(
      [
        {
          name: JOB_ALERT_WEBHOOK,
          data,
          opts: { ...baseOptions, attempts: 5, backoff: { type: 'exponential', delay: 1_000 } },
        },
      ],
      `alert ${alertId}`,
    );
  }

  async depth(): Promise<{ waiting: number; delayed: number; active: number }> {
    const c = await this.queue.getJobCounts();
    return { waiting: c.waiting, delayed: c.delayed, active: c.active };
  }

  private async addBulk(
    jobs: { name: string; data: unknown; opts: JobOptions }[],
    what: string,
  ): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.addBulk(jobs),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis did not answer in ${ADD_TIMEOUT_MS} ms`)),
            ADD_TIMEOUT_MS,
          );
        }),
      ]);
      return true;
    } catch (e) {
      this.logger.warn(
        `could not enqueue ${what}; the sweeper will pick them up: ${(e as Error).message}`,
      );
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
