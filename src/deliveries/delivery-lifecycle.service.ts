// What happens to an endpoint's deliveries when the endpoint changes state: paused while it is
// disabled, resumed when it is enabled again, cancelled when it is deleted.
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { MetricsService } from '../metrics/metrics.service';

@Injectable()
export class DeliveryLifecycleService {
  constructor(private readonly metrics: MetricsService) {}
  /**
   * Disabled endpoint: its waiting deliveries stop (kept as `paused`). One in flight finishes its
   * attempt; its result write makes a retry `paused` instead. Returns how many.
   */
  async pauseEndpoint(manager: EntityManager, endpointId: string): Promise<number> {
    const [, count] = await manager.query(
      `UPDATE deliveries SET status = 'paused', next_attempt_at = NULL, updated_at = now()
        WHERE endpoint_id = $1 AND status = 'pending' AND claim_id IS NULL`,
      [endpointId],
    );
    return count ?? 0;
  }

  /** Re-enabled endpoint: its paused deliveries are due now. Returns their ids, to wake them. */
  async resumeEndpoint(manager: EntityManager, endpointId: string): Promise<string[]> {
    const [rows] = await manager.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = now(), updated_at = now()
        WHERE endpoint_id = $1 AND status = 'paused' RETURNING id`,
      [endpointId],
    );
    return (rows as { id: string }[]).map((r) => r.id);
  }

  /** Deleted endpoint: everything not finished is cancelled. Returns how many. */
  async cancelEndpoint(manager: EntityManager, endpointId: string): Promise<number> {
    const [, count] = await manager.query(
      `UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, lease_expires_at = NULL,
              claim_id = NULL, updated_at = now()
        WHERE endpoint_id = $1 AND status IN ('pending', 'paused', 'sending')`,
      [endpointId],
    );
    if (count) this.metrics.deliveryOutcome('cancelled', count);
    return count ?? 0;
  }
}
