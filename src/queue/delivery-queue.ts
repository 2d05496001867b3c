// The delivery queue's producer: the only way to add a job. Jobs are wake-up calls; Postgres holds
// the truth, so an add that fails (Redis down) is logged and left to the sweeper.
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { InjectQueue } from '@nestjs/bull';
import type { JobOptions, Queue } from 'bull';

export const DELIVERY_QUEUE = 'deliveries';

export const JOB_DELIVER = 'deliver';
export const JOB_ALERT_WEBHOOK = 'alert-webhook';

/**
 * Deliveries to try, by endpoint: [endpointId, deliveryIds]. Each endpoint's id once per job, and
 * the dispatcher takes or leaves an endpoint's deliveries together (see DispatcherService.offer).
 * `d` ([deliveryId, endpointId] pairs) is how jobs added before 0.1.0's grouped wake-ups said it;
 * the processor still reads it.
 */
export interface DeliverJob {
  e?: [string, string[]][];
  d?: [string, string][];
}

/** [deliveryId, endpointId] pairs grouped by endpoint (added to `groups`), in the order given. */
export function byEndpoint(
  items: Iterable<[string, string]>,
  groups = new Map<string, string[]>(),
): Map<string, string[]> {
  for (const [id, endpointId] of items) {
    const ids = groups.get(endpointId);
    if (ids) ids.push(id);
    else groups.set(endpointId, [id]);
  }
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

/**
 * Wake-up jobs for deliveries grouped by endpoint: `chunk` deliveries a job at most, an endpoint's
 * split across two jobs only where one fills up.
 */
export function wakeJobs(groups: Map<string, string[]>, chunk = CHUNK): DeliverJob[] {
  const jobs: DeliverJob[] = [];
  let job: [string, string[]][] = [];
  let room = chunk;
  for (const [endpointId, ids] of groups) {
    for (let at = 0; at < ids.length; ) {
      const part = at === 0 && ids.length <= room ? ids : ids.slice(at, at + room);
      job.push([endpointId, part]);
      at += part.length;
      room -= part.length;
      if (room === 0) {
        jobs.push({ e: job });
        job = [];
        room = chunk;
      }
    }
  }
  if (job.length > 0) jobs.push({ e: job });
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

  /** Immediate wake-ups gathered for WAKE_GATHER_MS, by endpoint: one add for all of them. */
  private gathered = new Map<string, string[]>();
  private gatheredDone: Promise<boolean> | null = null;

  /**
   * Asks a worker to try these deliveries ([deliveryId, endpointId]), now or after `delayMs`.
   * Never throws.
   */
  async wake(items: [string, string][], delayMs = 0): Promise<boolean> {
    if (items.length === 0) return true;
    if (delayMs <= 0) {
      // Concurrent requests each wake a few deliveries: gather them so N requests cost one add.
      byEndpoint(items, this.gathered);
      this.gatheredDone ??= new Promise<void>((resolve) =>
        setTimeout(resolve, WAKE_GATHER_MS),
      ).then(() => {
        const all = this.gathered;
        this.gathered = new Map();
        this.gatheredDone = null;
        return this.addNow(all, 0);
      });
      return this.gatheredDone;
    }
    return this.addNow(byEndpoint(items), delayMs);
  }

  private addNow(groups: Map<string, string[]>, delayMs: number): Promise<boolean> {
    const opts = delayMs > 0 ? { ...baseOptions, delay: Math.ceil(delayMs) } : baseOptions;
    const jobs = wakeJobs(groups).map((data) => ({ name: JOB_DELIVER, data, opts }));
    let total = 0;
    for (const ids of groups.values()) total += ids.length;
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
