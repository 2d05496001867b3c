// Making it happen again: one more attempt of a delivery, re-queueing an endpoint's failed
// deliveries in a window, and a `webhook.test` event to one endpoint.
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventsService } from '../events/events.service';
import { EndpointsService } from '../endpoints/endpoints.service';
import { DeliveryQueue } from '../queue/delivery-queue';
import { DELIVERY_STATUS_SQL } from '../deliveries/delivery-log.query';
import { conflict, invalid, notFound } from '../common/errors';
import { AcceptedEventDto } from '../events/dto/event-response.dto';
import { RecoverResultDto, RetryResultDto } from './dto/replay.dto';

const RECOVER_BATCH = 1_000;

@Injectable()
export class ReplaysService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: EventsService,
    private readonly endpoints: EndpointsService,
    private readonly queue: DeliveryQueue,
  ) {}

  /**
   * One more attempt now, the same event id and body. A delivery still on its schedule is just
   * brought forward; a finished or paused one gets exactly one extra attempt, which raises no alert.
   */
  async retryDelivery(tenantId: string, deliveryId: string): Promise<RetryResultDto> {
    const rows: { id: string; endpoint_id: string; status: string; next_attempt_at: Date }[] =
      await this.dataSource.transaction(async (m) => {
        const found: { status: string }[] = await m.query(
          `SELECT ${DELIVERY_STATUS_SQL} AS status FROM deliveries
            WHERE id = $1 AND tenant_id = $2 FOR UPDATE`,
          [deliveryId, tenantId],
        );
        if (found.length === 0) throw notFound('Delivery');
        if (found[0].status === 'sending')
          throw conflict('An attempt of this delivery is in flight; retry when it ends');
        if (found[0].status === 'cancelled')
          throw conflict('This delivery was cancelled: its endpoint was deleted');
        const [updated] = await m.query(
          `UPDATE deliveries
              SET next_attempt_at = now(), updated_at = now(),
                  manual_retry = CASE WHEN status = 'pending' THEN manual_retry ELSE true END,
                                    -- A paused one keeps its schedule (a failed try waits paused again); a finished
                  -- one gets exactly one more attempt.
                  max_attempts = CASE WHEN status = 'pending' THEN max_attempts
                                      WHEN status = 'paused' THEN GREATEST(max_attempts, attempts + 1)
                                      ELSE attempts + 1 END,
                  status = 'pending'
            WHERE id = $1
          RETURNING id, endpoint_id, status, next_attempt_at`,
          [deliveryId],
        );
        return updated;
      });
    const r = rows[0];
    await this.queue.wake([[r.id, r.endpoint_id]]);
    return { id: r.id, status: 'pending', nextAttemptAt: r.next_attempt_at.toISOString() };
  }

  /** Re-queues the endpoint's failed deliveries created in [since, until), in batches. */
  async recoverEndpoint(
    tenantId: string,
    endpointId: string,
    since: string,
    until?: string,
  ): Promise<RecoverResultDto> {
    const endpoint = await this.endpoints.getForTenant(tenantId, endpointId);
    if (!endpoint.enabled)
      throw conflict(
        'The endpoint is disabled: enable it (its paused deliveries resume) before recovering',
      );
    const from = new Date(since);
    const to = until ? new Date(until) : new Date();
    if (from >= to) throw invalid('since', 'must be before until');
    let requeued = 0;
    let after = '';
    for (;;) {
      const [rows] = (await this.dataSource.query(
        `WITH picked AS (
           SELECT id FROM deliveries
            WHERE endpoint_id = $1 AND tenant_id = $2 AND status = 'failed'
              AND created_at >= $3 AND created_at < $4 AND id > $5
            ORDER BY id LIMIT $6
         )
         UPDATE deliveries d
            SET status = 'pending', next_attempt_at = now(), max_attempts = d.attempts + 1,
                manual_retry = true, updated_at = now()
           FROM picked WHERE d.id = picked.id
         RETURNING d.id`,
        [endpointId, tenantId, from, to, after, RECOVER_BATCH],
      )) as [{ id: string }[], number];
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.id).sort();
      await this.queue.wake(ids.map((id): [string, string] => [id, endpointId]));
      requeued += ids.length;
      after = ids[ids.length - 1];
      if (rows.length < RECOVER_BATCH) break;
    }
    return { requeued };
  }

  /** A `webhook.test` event delivered to this endpoint alone. */
  async sendTest(tenantId: string, endpointId: string): Promise<AcceptedEventDto> {
    await this.endpoints.getForTenant(tenantId, endpointId); // 404 when not this tenant's
    const { accepted } = await this.dataSource.transaction((m) =>
      this.events.recordEvents(
        m,
        tenantId,
        [{ type: 'webhook.test', data: { endpointId, message: 'A test event from Tern' } }],
        // Like an alert's, a test delivery's failure raises no alert and does not count against the endpoint.
        { onlyEndpointId: endpointId, isAlert: true },
      ),
    );
    this.events.wakeFor(accepted);
    return accepted[0];
  }
}
