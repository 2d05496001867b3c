// Ingestion: validate against the catalog, then store events and their fan-out in one transaction,
// then wake the dispatcher. The body stored is the exact text that is signed and sent.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { CatalogService } from '../catalog/catalog.service';
import { EndpointsService } from '../endpoints/endpoints.service';
import { DeliveryQueue } from '../queue/delivery-queue';
import { TERN_CONFIG, TernConfig } from '../config/config';
import { newId } from '../common/ids';
import { FieldProblem, TernError, notFound } from '../common/errors';
import { maxAttempts } from '../dispatch/retry-schedule';
import { AcceptedEventDto, EventDeliveryRefDto, EventDto } from './dto/event-response.dto';
import { DeliveriesService } from '../deliveries/deliveries.service';
import { MetricsService } from '../metrics/metrics.service';

export interface TriggerInput {
  type: string;
  data: Record<string, unknown>;
  idempotencyKey?: string;
}

export interface RecordOptions {
  /** Deliveries of an alert event never raise alerts of their own. */
  isAlert?: boolean;
  /** Deliver to this endpoint alone, subscribed or not (`webhook.test`). */
  onlyEndpointId?: string;
}

interface Prepared {
  id: string;
  type: string;
  timestamp: string;
  body: string;
  idempotencyKey: string | null;
  createdAt: Date;
}

const RESERVED = new Set(['tern.delivery.failed', 'tern.endpoint.disabled', 'webhook.test']);

/** The exact text a receiver gets and the signature covers. */
export function eventBody(id: string, type: string, timestamp: string, data: unknown): string {
  return JSON.stringify({ id, type, timestamp, data });
}

@Injectable()
export class EventsService {
  private readonly logger = new Logger(EventsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly catalog: CatalogService,
    private readonly endpoints: EndpointsService,
    private readonly queue: DeliveryQueue,
    private readonly deliveries: DeliveriesService,
    private readonly metrics: MetricsService,
    @Inject(TERN_CONFIG) private readonly config: TernConfig,
  ) {}

  /**
   * Accepts one or more events for a tenant, all or none. In a batch, errors name the item
   * (`events[3].type`).
   */
  async trigger(
    tenantId: string,
    inputs: TriggerInput[],
    batch: boolean,
  ): Promise<AcceptedEventDto[]> {
    await this.validate(inputs, batch);
    const { accepted, fresh } = await this.dataSource.transaction((m) =>
      this.recordEvents(m, tenantId, inputs),
    );
    this.metrics.eventAccepted(fresh);
    this.wakeFor(accepted);
    return accepted;
  }

  /** Wakes the dispatcher for the pending deliveries of accepted events; best effort. */
  wakeFor(accepted: AcceptedEventDto[]): void {
    const items: [string, string][] = [];
    for (const e of accepted)
      for (const d of e.deliveries) if (d.status === 'pending') items.push([d.id, d.endpointId]);
    void this.queue.wake(items);
  }

  private async validate(inputs: TriggerInput[], batch: boolean): Promise<void> {
    const field = (i: number, f: string) => (batch ? `events[${i}].${f}` : f);
    const types = await this.catalog.activeTypes(inputs.map((i) => i.type));
    for (let i = 0; i < inputs.length; i++) {
      const { type, data } = inputs[i];
      const size = Buffer.byteLength(JSON.stringify(data));
      if (size > this.config.maxPayloadBytes) {
        throw new TernError(
          'too_large',
          `${field(i, 'data')} is ${size} bytes; the limit is ${this.config.maxPayloadBytes}`,
          [
            {
              field: field(i, 'data'),
              message: `larger than MAX_PAYLOAD_BYTES (${this.config.maxPayloadBytes})`,
            },
          ],
        );
      }
      const known = types.get(type);
      if (!known) {
        throw new TernError(
          'rejected',
          `${field(i, 'type')}: "${type}" is not an active type of the catalog`,
          [{ field: field(i, 'type'), message: 'unknown or archived event type' }],
        );
      }
      if (known.reserved || RESERVED.has(type)) {
        throw new TernError('rejected', `${field(i, 'type')}: "${type}" is reserved for Tern`, [
          { field: field(i, 'type'), message: 'reserved event type' },
        ]);
      }
      if (known.validate && !known.validate(data)) {
        const details: FieldProblem[] = (known.validate.errors ?? []).map((e) => ({
          field: `${field(i, 'data')}${e.instancePath.replace(/\//g, '.')}`,
          message: e.message ?? 'is invalid',
        }));
        throw new TernError(
          'rejected',
          `${field(i, 'data')} does not match the schema of ${type}`,
          details,
        );
      }
    }
  }

  /**
   * Stores events and one delivery per subscribed endpoint, inside the caller's transaction, in a
   * handful of statements whatever the number of events. Events whose idempotency key was already
   * used come back as they were, with their deliveries, and add nothing (`fresh` counts the rest).
   */
  async recordEvents(
    manager: EntityManager,
    tenantId: string,
    inputs: TriggerInput[],
    options: RecordOptions = {},
  ): Promise<{ accepted: AcceptedEventDto[]; fresh: number }> {
    const now = new Date();
    const prepared: Prepared[] = inputs.map((input) => {
      const id = newId('evt');
      const timestamp = now.toISOString();
      return {
        id,
        type: input.type,
        timestamp,
        body: eventBody(id, input.type, timestamp, input.data),
        idempotencyKey: input.idempotencyKey ?? null,
        createdAt: now,
      };
    });

    const inserted: { id: string }[] = await manager.query(
      `INSERT INTO events (id, tenant_id, type, body, idempotency_key, created_at)
       SELECT u.id, $1, u.type, u.body, u.key, $6
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, type, body, key)
       ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING id`,
      [
        tenantId,
        prepared.map((p) => p.id),
        prepared.map((p) => p.type),
        prepared.map((p) => p.body),
        prepared.map((p) => p.idempotencyKey),
        now,
      ],
    );
    const insertedIds = new Set(inserted.map((r) => r.id));
    const fresh = prepared.filter((p) => insertedIds.has(p.id));
    const replayed = prepared.filter((p) => !insertedIds.has(p.id));

    // Fan-out: one subscriber look-up per distinct type, one insert for every delivery.
    const deliveriesByEvent = new Map<string, EventDeliveryRefDto[]>();
    const rows = {
      id: [] as string[],
      event: [] as string[],
      endpoint: [] as string[],
      type: [] as string[],
      status: [] as string[],
    };
    const targetsByType = new Map<string, { id: string; enabled: boolean }[]>();
    for (const e of fresh) {
      let targets = targetsByType.get(e.type);
      if (!targets) {
        targets = options.onlyEndpointId
          ? await this.endpoints.targetOf(manager, tenantId, options.onlyEndpointId)
          : await this.endpoints.subscribersOf(manager, tenantId, e.type);
        targetsByType.set(e.type, targets);
      }
      const refs: EventDeliveryRefDto[] = [];
      for (const t of targets) {
        const ref = {
          id: newId('dlv'),
          endpointId: t.id,
          status: t.enabled || options.onlyEndpointId ? 'pending' : 'paused',
        };
        refs.push(ref);
        rows.id.push(ref.id);
        rows.event.push(e.id);
        rows.endpoint.push(t.id);
        rows.type.push(e.type);
        rows.status.push(ref.status);
      }
      deliveriesByEvent.set(e.id, refs);
    }
    if (rows.id.length > 0) {
      await manager.query(
        `INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, max_attempts,
                                 next_attempt_at, is_alert, created_at, updated_at)
         SELECT u.id, $1, u.event_id, u.endpoint_id, u.type, u.status, $7,
                CASE WHEN u.status = 'pending' THEN $9::timestamptz END, $8, $9, $9
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
             AS u(id, event_id, endpoint_id, type, status)`,
        [
          tenantId,
          rows.id,
          rows.event,
          rows.endpoint,
          rows.type,
          rows.status,
          maxAttempts(this.config.retrySchedule),
          options.isAlert ?? false,
          now,
        ],
      );
    }

    const replayedByKey = new Map<string, AcceptedEventDto>();
    if (replayed.length > 0) {
      for (const e of await this.findByKeys(
        manager,
        tenantId,
        replayed.map((p) => p.idempotencyKey!),
      )) {
        replayedByKey.set(e.idempotencyKey, e.accepted);
      }
    }
    const accepted = prepared.map((p) => {
      if (insertedIds.has(p.id)) {
        return {
          id: p.id,
          type: p.type,
          timestamp: p.timestamp,
          deliveries: deliveriesByEvent.get(p.id) ?? [],
        };
      }
      const earlier = replayedByKey.get(p.idempotencyKey!);
      if (!earlier)
        throw new Error(`idempotency key ${p.idempotencyKey} conflicted but no event holds it`);
      return earlier;
    });
    return { accepted, fresh: fresh.length };
  }

  private async findByKeys(manager: EntityManager, tenantId: string, keys: string[]) {
    const events: { id: string; type: string; body: string; idempotency_key: string }[] =
      await manager.query(
        `SELECT id, type, body, idempotency_key FROM events WHERE tenant_id = $1 AND idempotency_key = ANY($2)`,
        [tenantId, keys],
      );
    const deliveries: { id: string; event_id: string; endpoint_id: string; status: string }[] =
      events.length
        ? await manager.query(
            `SELECT id, event_id, endpoint_id, status FROM deliveries WHERE event_id = ANY($1) ORDER BY id`,
            [events.map((e) => e.id)],
          )
        : [];
    return events.map((e) => ({
      idempotencyKey: e.idempotency_key,
      accepted: {
        id: e.id,
        type: e.type,
        timestamp: JSON.parse(e.body).timestamp as string,
        deliveries: deliveries
          .filter((d) => d.event_id === e.id)
          .map((d) => ({ id: d.id, endpointId: d.endpoint_id, status: d.status })),
      },
    }));
  }

  async get(tenantId: string, eventId: string): Promise<EventDto> {
    const rows: {
      id: string;
      tenant_id: string;
      type: string;
      body: string;
      idempotency_key: string | null;
    }[] = await this.dataSource.query(
      `SELECT id, tenant_id, type, body, idempotency_key FROM events WHERE id = $1 AND tenant_id = $2`,
      [eventId, tenantId],
    );
    if (rows.length === 0) throw notFound('Event');
    const e = rows[0];
    const body = JSON.parse(e.body);
    return {
      id: e.id,
      tenantId: e.tenant_id,
      type: e.type,
      timestamp: body.timestamp,
      data: body.data,
      idempotencyKey: e.idempotency_key,
      deliveries: await this.deliveries.listForEvent(tenantId, eventId),
    };
  }
}
