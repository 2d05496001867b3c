// TEMP stub until the endpoints branch lands.
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { patternsFor } from '../subscriptions/patterns';
import { DeliveryLifecycleService } from '../deliveries/delivery-lifecycle.service';

@Injectable()
export class EndpointsService {
  constructor(private readonly lifecycle: DeliveryLifecycleService) {}
  async subscribersOf(
    manager: EntityManager,
    tenantId: string,
    type: string,
  ): Promise<{ id: string; enabled: boolean }[]> {
    return manager.query(
      `SELECT DISTINCT e.id, e.enabled FROM endpoint_subscriptions s JOIN endpoints e ON e.id = s.endpoint_id
        WHERE s.tenant_id = $1 AND s.pattern = ANY($2) AND e.deleted_at IS NULL`,
      [tenantId, patternsFor(type)],
    );
  }
  async targetOf(
    manager: EntityManager,
    tenantId: string,
    endpointId: string,
  ): Promise<{ id: string; enabled: boolean }[]> {
    return manager.query(
      `SELECT id, enabled FROM endpoints WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`,
      [endpointId, tenantId],
    );
  }
  async countExhaustedDelivery(manager: EntityManager, endpointId: string): Promise<number> {
    const rows: { consecutive_failures: number }[] = await manager.query(
      `UPDATE endpoints SET consecutive_failures = consecutive_failures + 1 WHERE id = $1 RETURNING consecutive_failures`,
      [endpointId],
    );
    return rows[0]?.consecutive_failures ?? 0;
  }
  async disableEndpoint(
    manager: EntityManager,
    endpointId: string,
    reason: string,
  ): Promise<boolean> {
    const [, n] = await manager.query(
      `UPDATE endpoints SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1 AND enabled`,
      [endpointId, reason],
    );
    if (n) await this.lifecycle.pauseEndpoint(manager, endpointId);
    return n > 0;
  }
}
