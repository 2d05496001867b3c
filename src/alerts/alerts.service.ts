// Alerts: stored, logged at error level, delivered as reserved-type events to the tenant's
// endpoints subscribed by name, and POSTed to ALERT_WEBHOOK_URL when the operator set one.
// Owns the alerts table: raising (the dispatcher's use case) and the tenant's list.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, LessThan, Repository } from 'typeorm';
import { newId } from '../common/ids';
import { EventsService } from '../events/events.service';
import { DeliveryQueue } from '../queue/delivery-queue';
import { TERN_CONFIG, TernConfig } from '../config/config';
import { AcceptedEventDto } from '../events/dto/event-response.dto';
import { Alert, AlertType } from './entities/alert.entity';
import { AlertResponse } from './dto/alert.response';
import { decodeCursor, Page, PageQuery, pageLimit, toPage } from '../common/pagination';
import { invalid } from '../common/errors';

const toAlertResponse = (a: Alert): AlertResponse => ({
  id: a.id,
  type: a.type,
  message: a.message,
  endpointId: a.endpointId,
  deliveryId: a.deliveryId,
  eventId: a.eventId,
  data: a.data,
  createdAt: a.createdAt.toISOString(),
});

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
    @InjectRepository(Alert) private readonly alerts: Repository<Alert>,
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
    const {
      accepted: [event],
    } = await this.events.recordEvents(
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

  /** One alert with its tenant, for the operator's alert webhook. */
  async get(id: string): Promise<AlertPayload | null> {
    return this.alerts.findOne({ where: { id } });
  }

  /** One tenant's alerts, newest first (keyset on id, served by alerts_tenant_idx). */
  async list(tenantId: string, query: PageQuery): Promise<Page<AlertResponse>> {
    const limit = pageLimit(query);
    const cursor = decodeCursor(query.cursor, 1);
    if (cursor && typeof cursor[0] !== 'string')
      throw invalid('cursor', 'is not a cursor this list returned');
    const rows = await this.alerts.find({
      where: cursor ? { tenantId, id: LessThan(cursor[0] as string) } : { tenantId },
      order: { id: 'DESC' },
      take: limit + 1,
    });
    return toPage(rows, limit, (a) => [a.id], toAlertResponse);
  }
}
