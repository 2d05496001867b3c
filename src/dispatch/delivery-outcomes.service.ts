// What follows a recorded attempt: the next wake-up, and for the rare bad endings the endpoint's
// bookkeeping (410 Gone, ENDPOINT_DISABLE_AFTER exhausted deliveries) and the alerts they raise.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TERN_CONFIG, TernConfig } from '../config/config';
import { ClaimedDelivery } from '../deliveries/delivery-claims.service';
import { DeliveryQueue } from '../queue/delivery-queue';
import { EndpointsService } from '../endpoints/endpoints.service';
import { AlertsService, RaisedAlert } from '../alerts/alerts.service';
import { Outcome } from './outcome';
import { SendResult } from './sender';
import { MetricsService } from '../metrics/metrics.service';

export interface RecordedAttempt {
  claimed: ClaimedDelivery;
  outcome: Outcome;
  result: SendResult;
}

@Injectable()
export class DeliveryOutcomes {
  private readonly logger = new Logger('Dispatch');

  constructor(
    @Inject(TERN_CONFIG) private readonly config: TernConfig,
    private readonly dataSource: DataSource,
    private readonly queue: DeliveryQueue,
    private readonly endpoints: EndpointsService,
    private readonly alerts: AlertsService,
    private readonly metrics: MetricsService,
  ) {}

  async afterRecorded(recorded: RecordedAttempt[]): Promise<void> {
    const retries = recorded
      .filter((r) => r.outcome.status === 'pending' && r.outcome.retryInMs !== null)
      .map((r) => ({
        delivery: [r.claimed.id, r.claimed.endpointId] as [string, string],
        delayMs: r.outcome.retryInMs!,
      }));
    await this.queue.wakeEach(retries);
    for (const r of recorded) {
      const s = r.outcome.status;
      this.metrics.deliveryOutcome(
        s === 'succeeded' ? 'succeeded' : s === 'failed' ? 'failed' : 'retry',
      );
      if (r.outcome.status !== 'succeeded') {
        this.logger.warn(
          {
            tenantId: r.claimed.tenantId,
            endpointId: r.claimed.endpointId,
            eventId: r.claimed.eventId,
            deliveryId: r.claimed.id,
            attempt: r.claimed.attempt,
            statusCode: r.result.statusCode,
            next: r.outcome.status,
          },
          `attempt ${r.claimed.attempt} failed: ${r.result.error ?? `HTTP ${r.result.statusCode}`}`,
        );
      }
      if (r.outcome.disableEndpoint || r.outcome.exhausted) {
        try {
          await this.handleBadEnding(r);
        } catch (e) {
          this.logger.error(
            { err: e, deliveryId: r.claimed.id },
            `could not finish bookkeeping for ${r.claimed.id}`,
          );
        }
      }
    }
  }

  private async handleBadEnding({ claimed: d, outcome, result }: RecordedAttempt): Promise<void> {
    const raised = await this.dataSource.transaction(async (m) => {
      const out: RaisedAlert[] = [];
      const disable = async (reason: string) => {
        if (await this.endpoints.disableEndpoint(m, d.endpointId, reason)) {
          this.metrics.endpointDisabled();
          out.push(
            await this.alerts.raise(m, {
              tenantId: d.tenantId,
              type: 'tern.endpoint.disabled',
              message: `Endpoint ${d.endpointId} was disabled: ${reason}`,
              endpointId: d.endpointId,
              data: { endpointId: d.endpointId, url: d.url, reason },
            }),
          );
        }
      };
      if (outcome.disableEndpoint) await disable(outcome.disableEndpoint);
      if (outcome.exhausted) {
        const consecutive = await this.endpoints.recordDeliveryExhausted(m, d.endpointId);
        if (outcome.raiseAlert) {
          out.push(
            await this.alerts.raise(m, {
              tenantId: d.tenantId,
              type: 'tern.delivery.failed',
              message: `Delivery ${d.id} of event ${d.eventId} to endpoint ${d.endpointId} failed after ${d.attempt} attempts`,
              endpointId: d.endpointId,
              deliveryId: d.id,
              eventId: d.eventId,
              data: {
                deliveryId: d.id,
                eventId: d.eventId,
                eventType: d.eventType,
                endpointId: d.endpointId,
                url: d.url,
                attempts: d.attempt,
                lastStatusCode: result.statusCode,
                lastError:
                  result.error ?? (result.statusCode !== null ? `HTTP ${result.statusCode}` : null),
              },
            }),
          );
        }
        if (consecutive >= this.config.endpointDisableAfter) {
          await disable(
            `${consecutive} consecutive deliveries failed (ENDPOINT_DISABLE_AFTER=${this.config.endpointDisableAfter})`,
          );
        }
      }
      return out;
    });
    this.alerts.announce(raised);
  }
}
