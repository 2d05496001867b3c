// Alerts: stored, logged at error level, delivered as reserved-type events to the tenant's
// endpoints subscribed by name, and POSTed to ALERT_WEBHOOK_URL when the operator set one.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { newId } from '../common/ids';
import { EventsService } from '../events/events.service';
import { DeliveryQueue } from '../queue/delivery-queue';
import { TERN_CONFIG, TernConfig } from '../config/config';
import { AcceptedEventDto } from '../events/dto/event-response.dto';
import { AlertType } from './entities/alert.entity';

export interface AlertInput {
  tenantId: string;
  type: AlertType;
  message: string;
  endpointId: string | null;
  deliveryId?: string | null;
  eventId?: string | null;
  data: Record<string, unknown>;
}

export interface RaisedAlert {
  id: string;
  input: AlertInput;
  event: AcceptedEventDto;
}

export interface AlertPayload {
  id: string;
  tenantId: string;
  type: AlertType;
  message: string;
  endpointId: string | null;
  deliveryId: string | null;
  eventId: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

@Injectable()
export class AlertsService {
  private readonly logger = new Logger('Alerts');

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: EventsService,
    private readonly queue: DeliveryQueue,
    @Inject(TERN_CONFIG) private readonly config: TernConfig,
  ) {}

  /** Stores an alert and its event inside the caller's transaction; call `announce` after commit. */
  async raise(manager: EntityManager, input: AlertInput): Promise<RaisedAlert> {
    const id = newId('alr');
    await manager.query(
      `INSERT INTO alerts (id, tenant_id, type, message, endpoint_id, delivery_id, event_id, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        id,
        input.tenantId,
        input.type,
        input.message,
        input.endpointId,
        input.deliveryId ?? null,
        input.eventId ?? null,
        input.data,
      ],
    );
    const [event] = await this.events.recordEvents(
      manager,
      input.tenantId,
      [{ type: input.type, data: { alertId: id, message: input.message, ...input.data } }],
      { isAlert: true },
    );
    return { id, input, event };
  }

  /** After commit: log, wake the alert event's deliveries, and queue the operator's alert webhook. */
  announce(raised: RaisedAlert[]): void {
    for (const a of raised) {
      this.logger.error(
        {
          alertId: a.id,
          alertType: a.input.type,
          tenantId: a.input.tenantId,
          endpointId: a.input.endpointId,
          deliveryId: a.input.deliveryId,
          eventId: a.input.eventId,
        },
        `alert ${a.input.type}: ${a.input.message}`,
      );
      if (this.config.alertWebhookUrl) void this.queue.alertWebhook(a.id);
    }
    this.events.wakeFor(raised.map((a) => a.event));
  }

  async get(id: string): Promise<AlertPayload | null> {
    const rows: any[] = await this.dataSource.query(`SELECT * FROM alerts WHERE id = $1`, [id]);
    const r = rows[0];
    if (!r) return null;
    return {
      id: r.id,
      tenantId: r.tenant_id,
      type: r.type,
      message: r.message,
      endpointId: r.endpoint_id,
      deliveryId: r.delivery_id,
      eventId: r.event_id,
      data: r.data,
      createdAt: r.created_at,
    };
  }
}
