// The delivery log, read side: filtered keyset pages, one delivery with its attempts, an event's
// deliveries, and the status counts behind the tern_deliveries_by_status gauge.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Delivery, DeliveryStatus } from './entities/delivery.entity';
import { Attempt } from './entities/attempt.entity';
import {
  DELIVERY_LOG_COLUMNS,
  DELIVERY_STATUS_SQL,
  DeliveryLogFilter,
  deliveryLogQuery,
  eventDeliveriesSql,
} from './delivery-log.query';
import { ListAllDeliveriesQuery, ListDeliveriesQuery } from './dto/list-deliveries.query';
import { AttemptResponse, DeliveryDetailResponse, DeliveryResponse } from './dto/delivery.response';
import { decodeCursor, Page, pageLimit, toPage } from '../common/pagination';
import { invalid, notFound } from '../common/errors';
import { MetricsService } from '../metrics/metrics.service';

/** A row of DELIVERY_LOG_COLUMNS as pg returns it. */
interface DeliveryRow {
  id: string;
  tenant_id: string;
  event_id: string;
  endpoint_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The contract shows the first 4 KiB of a response body. */
export const RESPONSE_BODY_SHOWN_BYTES = 4096;

export function firstBytes(text: string | null, max = RESPONSE_BODY_SHOWN_BYTES): string | null {
  if (text === null || Buffer.byteLength(text) <= max) return text;
  // Cut on a character boundary: drop a partial UTF-8 sequence at the end.
  return Buffer.from(text)
    .subarray(0, max)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

const toDeliveryResponse = (r: DeliveryRow): DeliveryResponse => ({
  id: r.id,
  tenantId: r.tenant_id,
  eventId: r.event_id,
  endpointId: r.endpoint_id,
  eventType: r.event_type,
  status: r.status,
  attemptCount: r.attempts,
  nextAttemptAt: r.next_attempt_at ? r.next_attempt_at.toISOString() : null,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const toAttemptResponse = (a: Attempt): AttemptResponse => ({
  id: a.id,
  attempt: a.attempt,
  startedAt: a.startedAt.toISOString(),
  durationMs: a.durationMs,
  statusCode: a.statusCode,
  responseBody: firstBytes(a.responseBody),
  error: a.error,
});

@Injectable()
export class DeliveriesService implements OnModuleInit {
  constructor(
    @InjectRepository(Delivery) private readonly deliveries: Repository<Delivery>,
    @InjectRepository(Attempt) private readonly attempts: Repository<Attempt>,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.metrics.setDeliveryStatusCountSource(() => this.countByStatus());
  }

  /** One tenant's delivery log, newest first. */
  list(tenantId: string, query: ListDeliveriesQuery): Promise<Page<DeliveryResponse>> {
    return this.page({ ...toFilter(query), tenantId }, query);
  }

  /** The operator's log across tenants (optionally narrowed to one with `tenantId`). */
  listAcrossTenants(query: ListAllDeliveriesQuery): Promise<Page<DeliveryResponse>> {
    return this.page({ ...toFilter(query), tenantId: query.tenantId }, query);
  }

  /** One of the tenant's deliveries with every attempt; 404 when it is another tenant's. */
  get(tenantId: string, deliveryId: string): Promise<DeliveryDetailResponse> {
    return this.detail(deliveryId, tenantId);
  }

  getAcrossTenants(deliveryId: string): Promise<DeliveryDetailResponse> {
    return this.detail(deliveryId, undefined);
  }

  /** Every delivery of one event (one per endpoint it went to), newest first. */
  async listForEvent(tenantId: string, eventId: string): Promise<DeliveryResponse[]> {
    const rows: DeliveryRow[] = await this.deliveries.query(
      `SELECT ${DELIVERY_LOG_COLUMNS} FROM deliveries
        WHERE ${eventDeliveriesSql('$1')} AND tenant_id = $2 ORDER BY id DESC`,
      [eventId, tenantId],
    );
    return rows.map(toDeliveryResponse);
  }

  /** How many deliveries are in each status, over the whole table (a metrics gauge). */
  async countByStatus(): Promise<Record<string, number>> {
    const rows: { status: string; n: string }[] = await this.deliveries.query(
      `SELECT ${DELIVERY_STATUS_SQL} AS status, count(*) AS n FROM deliveries GROUP BY 1`,
    );
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  private async page(
    filter: DeliveryLogFilter,
    query: ListDeliveriesQuery,
  ): Promise<Page<DeliveryResponse>> {
    const limit = pageLimit(query);
    const cursor = decodeCursor(query.cursor, 1);
    if (cursor) {
      if (typeof cursor[0] !== 'string')
        throw invalid('cursor', 'is not a cursor this list returned');
      filter.beforeId = cursor[0];
    }
    const { sql, params } = deliveryLogQuery(filter, limit + 1);
    const rows: DeliveryRow[] = await this.deliveries.query(sql, params);
    return toPage(rows, limit, (r) => [r.id], toDeliveryResponse);
  }

  private async detail(
    deliveryId: string,
    tenantId: string | undefined,
  ): Promise<DeliveryDetailResponse> {
    const rows: DeliveryRow[] = await this.deliveries.query(
      `SELECT ${DELIVERY_LOG_COLUMNS} FROM deliveries
        WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
      [deliveryId, tenantId ?? null],
    );
    const row = rows[0];
    if (!row) throw notFound('Delivery');
    const attempts = await this.attempts.find({
      where: { deliveryId },
      order: { attempt: 'ASC', startedAt: 'ASC' },
    });
    return { ...toDeliveryResponse(row), attempts: attempts.map(toAttemptResponse) };
  }
}

function toFilter(query: ListDeliveriesQuery): DeliveryLogFilter {
  const since = query.since !== undefined ? new Date(query.since) : undefined;
  const until = query.until !== undefined ? new Date(query.until) : undefined;
  if (since && until && until.getTime() <= since.getTime())
    throw invalid('until', 'must be later than since');
  return {
    statuses: query.status,
    eventType: query.eventType,
    endpointId: query.endpointId,
    eventId: query.eventId,
    since,
    until,
  };
}
