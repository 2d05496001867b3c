// Bull processors of the delivery queue (worker role only). A `deliver` job hands its deliveries
// to the dispatcher and completes; an `alert-webhook` job POSTs one alert to ALERT_WEBHOOK_URL.
import { Inject, Logger, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import { Agent } from 'undici';
import {
  AlertWebhookJob,
  byEndpoint,
  DELIVERY_QUEUE,
  DeliverJob,
  JOB_ALERT_WEBHOOK,
  JOB_DELIVER,
} from '../queue/delivery-queue';
import { DispatcherService } from './dispatcher.service';
import { AlertsService } from '../alerts/alerts.service';
import { TERN_CONFIG, TernConfig } from '../config/config';
import { signatureHeader } from '../signing/standard-webhooks';
import { sendWebhook } from './sender';

/** How long shutdown waits for Bull to stop taking jobs before the dispatcher drains anyway. */
const PAUSE_TIMEOUT_MS = 2_000;

@Processor(DELIVERY_QUEUE)
export class DeliveryProcessor implements OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('DeliveryProcessor');
  /** The operator's own alert URL is trusted: no SSRF guard on this Agent. */
  private readonly alertAgent = new Agent({ connect: { timeout: 5_000 } });

  constructor(
    private readonly dispatcher: DispatcherService,
    private readonly alerts: AlertsService,
    @InjectQueue(DELIVERY_QUEUE) private readonly queue: Queue,
    @Inject(TERN_CONFIG) private readonly config: TernConfig,
  ) {}

  @Process({ name: JOB_DELIVER, concurrency: 16 })
  async deliver(job: Job<DeliverJob>): Promise<void> {
    const { g, e, d } = job.data;
    if (g) await this.dispatcher.offerEvents(g);
    if (e || d) await this.dispatcher.offer(e ?? byEndpoint(d!));
  }

  @Process({ name: JOB_ALERT_WEBHOOK, concurrency: 4 })
  async alertWebhook(job: Job<AlertWebhookJob>): Promise<void> {
    if (!this.config.alertWebhookUrl || !this.config.alertWebhookSecret) return;
    const alert = await this.alerts.get(job.data.alertId);
    if (!alert) return;
    const body = JSON.stringify({
      id: alert.id,
      type: alert.type,
      timestamp: alert.createdAt.toISOString(),
      data: {
        tenantId: alert.tenantId,
        message: alert.message,
        endpointId: alert.endpointId,
        deliveryId: alert.deliveryId,
        eventId: alert.eventId,
        ...alert.data,
      },
    });
    const ts = Math.floor(Date.now() / 1000);
    const result = await sendWebhook(
      this.alertAgent,
      {
        url: this.config.alertWebhookUrl,
        body,
        timeoutMs: this.config.deliveryTimeoutMs,
        headers: {
          'content-type': 'application/json',
          'user-agent': `Tern-Webhooks/${this.config.version}`,
          'webhook-id': alert.id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signatureHeader(
            [this.config.alertWebhookSecret],
            alert.id,
            ts,
            body,
          ),
          'x-webhook-event': alert.type,
        },
      },
      ['0.0.0.0/0', '::/0'],
    );
    if (result.statusCode === null || result.statusCode < 200 || result.statusCode >= 300) {
      throw new Error(`ALERT_WEBHOOK_URL answered ${result.error ?? `HTTP ${result.statusCode}`}`);
    }
  }

  /**
   * Shutdown, first step (Nest runs every onModuleDestroy before any other shutdown hook): this
   * process stops taking jobs, before the dispatcher drains in beforeApplicationShutdown. Jobs
   * already taken still hand over their deliveries; the queue itself closes later, with its module.
   */
  async onModuleDestroy(): Promise<void> {
    // Bounded: with Redis unreachable the pause may never settle, and the drain must still run.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.queue.pause(true, true).catch(() => undefined),
      new Promise<void>((r) => (timer = setTimeout(r, PAUSE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.alertAgent.close().catch(() => undefined);
  }
}
