// The safety net behind Bull: every SWEEP_INTERVAL_MS one worker at a time (a Postgres advisory
// lock decides which) makes expired leases due again and re-offers deliveries whose wake-up was
// lost (Redis flushed, a job dropped). Duplicates are harmless: the claim is conditional. While
// Redis is down the sweeper hands that work to its own dispatcher, so delivery goes on without it.
// Every STRANDED_EVERY sweeps it also resumes deliveries left paused on an enabled endpoint by a
// write that raced the endpoint's re-enable, and cancels those left paused on an endpoint deleted
// meanwhile (DeliveryLifecycleService.resumeStranded, cancelStranded).
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TERN_CONFIG, TernConfig } from '../config/config';
import { DeliveryClaimsService } from '../deliveries/delivery-claims.service';
import { DeliveryLifecycleService } from '../deliveries/delivery-lifecycle.service';
import { byEndpoint, DeliveryQueue } from '../queue/delivery-queue';
import { MetricsService } from '../metrics/metrics.service';
import { DispatcherService } from './dispatcher.service';

const SWEEP_LOCK = 7_461_824_532;
const BATCH = 5_000;
/**
 * The look for stranded paused deliveries runs every this many sweeps this worker makes (its first
 * included): it probes every enabled endpoint's paused deliveries, about 8 us an endpoint when
 * there is nothing to find (10,000 enabled endpoints beside 200,000 paused deliveries of disabled
 * ones: 79 ms) and the paused ones of endpoints deleted in the last day (the endpoints table read
 * through), and the race it repairs is rare.
 */
const STRANDED_EVERY = 10;

@Injectable()
export class SweeperService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Sweeper');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  /** Where the walk through a large overdue backlog stopped; null starts from the oldest. */
  private overdueCursor: { at: Date; id: string } | null = null;
  /** Sweeps this worker has made while holding the lock (see STRANDED_EVERY). */
  private sweeps = 0;

  constructor(
    @Inject(TERN_CONFIG) private readonly config: TernConfig,
    private readonly dataSource: DataSource,
    private readonly claims: DeliveryClaimsService,
    private readonly lifecycle: DeliveryLifecycleService,
    private readonly queue: DeliveryQueue,
    private readonly metrics: MetricsService,
    private readonly dispatcher: DispatcherService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.sweep().finally(() => (this.running = null));
    }, this.config.sweepIntervalMs);
    this.timer.unref();
  }

  /** Shutdown, first step: no new sweep; one under way finishes while Postgres is still open. */
  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One sweep, if no other worker is sweeping. Returns how many deliveries were re-offered. */
  async sweep(): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      const [{ locked }] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        SWEEP_LOCK,
      ]);
      if (!locked) return 0;
      try {
        const expired = await this.claims.releaseExpiredLeases(BATCH, this.config.leaseMs);
        // Grace: a wake-up may still be on its way; after two sweep periods (at least 2 s) it is lost.
        const grace = Math.max(2 * this.config.sweepIntervalMs, 2_000);
        const page = await this.claims.overdue(grace, BATCH, this.overdueCursor);
        this.overdueCursor = page.last;
        // Overdue rows this worker already holds (waiting in a slow endpoint's line) are not lost:
        // offering them again would only churn the queue. Nor are those of an endpoint whose line
        // had no room for them (a failing, stalled, rate-limited or not yet answering one; see lineBound):
        // that line reads them back from Postgres itself as it drains (DispatcherService.refill).
        const overdue = page.items.filter(
          ([id, endpointId]) => !this.dispatcher.holds(id) && !this.dispatcher.refills(endpointId),
        );
        await this.reoffer(
          [...expired, ...overdue],
          `${expired.length} deliveries with expired leases and ${overdue.length} overdue ones`,
        );
        const stranded =
          this.sweeps++ % STRANDED_EVERY === 0 ? await this.resumeStranded(grace) : 0;
        return expired.length + overdue.length + stranded;
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [SWEEP_LOCK]);
      }
    } catch (e) {
      this.logger.warn(`sweep failed: ${(e as Error).message}`);
      return 0;
    } finally {
      await runner.release();
    }
  }

  /** Wakes `items` (or, with Redis down, offers them to this worker's dispatcher), and says so. */
  private async reoffer(items: [string, string][], what: string): Promise<void> {
    if (items.length === 0) return;
    const queued = await this.queue.wake(items);
    this.metrics.sweeperReenqueued(items.length);
    this.logger.warn(
      `re-enqueued ${what}${queued ? '' : ' (Redis is down: this worker sends them)'}`,
    );
    if (!queued) await this.dispatcher.offer(byEndpoint(items));
  }

  /**
   * Resumes deliveries left paused on an enabled endpoint (DeliveryLifecycleService.resumeStranded)
   * and wakes them, and cancels those left paused on a deleted one (cancelStranded). Only rows
   * paused a lease's length ago at least (`grace` if longer): by then a 410's result, written
   * paused, has been followed by its endpoint's disable (DeliveryOutcomes), unless that disable
   * failed, and then the delivery is sent again and its 410 disables the endpoint anew. A failure
   * here is logged and leaves the rest of the sweep as it was.
   */
  private async resumeStranded(grace: number): Promise<number> {
    const after = Math.max(grace, this.config.leaseMs);
    let resumed = 0;
    try {
      const stranded = await this.lifecycle.resumeStranded(BATCH, after);
      await this.reoffer(
        stranded,
        `${stranded.length} deliveries left paused on an enabled endpoint`,
      );
      resumed = stranded.length;
    } catch (e) {
      this.logger.warn(`could not resume deliveries left paused: ${(e as Error).message}`);
    }
    try {
      const cancelled = await this.lifecycle.cancelStranded(BATCH, after);
      if (cancelled > 0)
        this.logger.warn(`cancelled ${cancelled} deliveries left paused on a deleted endpoint`);
    } catch (e) {
      this.logger.warn(`could not cancel deliveries left paused: ${(e as Error).message}`);
    }
    return resumed;
  }
}
