// Ingestion: validate against the catalog, then store events and their fan-out in one statement,
// then wake the dispatcher. The body stored is the exact text that is signed and sent.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { CatalogService } from '../catalog/catalog.service';
import { patternsFor } from '../subscriptions/patterns';
import { GroupCommit } from './group-commit';
import { isDependencyFailure } from '../common/http-error.filter';
import { isReservedEventTypeName } from '../catalog/event-type-rules';
import { ENDLESS_SCHEMA, runValidator } from '../catalog/json-schema';
import { DeliveryQueue, EventGroup } from '../queue/delivery-queue';
import { TERN_CONFIG, TernConfig } from '../config/config';
import { deliveryIdPrefix, deliveryIdTail, newId } from '../common/ids';
import { appendTo } from '../common/group';
import { runPrepared } from '../database/prepared-statement';
import { FOREIGN_KEY_VIOLATION, pgErrorCode } from '../common/db-errors';
import { INSERT_EVENTS } from './insert-events.statement';
import { FieldProblem, TernError, notFound } from '../common/errors';
import { maxAttempts } from '../dispatch/retry-schedule';
import { AcceptedEventDto, EventDeliveryRefDto, EventDto } from './dto/event-response.dto';
import { DeliveriesService } from '../deliveries/deliveries.service';
import { DELIVERY_STATUS_SQL, eventDeliveriesSql } from '../deliveries/delivery-log.query';
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

export interface TenantEventInput extends TriggerInput {
  tenantId: string;
}

interface Prepared {
  id: string;
  tenantId: string;
  type: string;
  timestamp: string;
  body: string;
  idempotencyKey: string | null;
}

/** What recordMany wrote, or found written, and what to wake for it once committed. */
export interface Recorded {
  accepted: AcceptedEventDto[];
  /** Events written now (the rest were there already: an idempotency key used before). */
  fresh: number;
  wake: Wake;
}

/** The deliveries to wake after a write: the new events' by fan-out, the earlier events' by id. */
export interface Wake {
  events: EventGroup[];
  earlier: AcceptedEventDto[];
}

/** How long an ingest write runs before another may start beside it (see EventsService.ingest). */
export const OVERLAP_AFTER_MS = 100;

/** A map key for a (tenant, type) or (tenant, idempotency key) pair. */
const tenantKey = (tenantId: string, s: string): string => `${tenantId}\u0000${s}`;

/** The exact text a receiver gets and the signature covers. */
export function eventBody(id: string, type: string, timestamp: string, data: unknown): string {
  return JSON.stringify({ id, type, timestamp, data });
}

/**
 * Whether a failed shared ingest write may be one submission's doing, and so worth writing again in
 * halves to find it (GroupCommit): a data or integrity error (SQLSTATE class 22 or 23: a value
 * Postgres refuses, a tenant deleted meanwhile), a transaction rolled back (40: a deadlock, less
 * likely in a smaller write), or a domain error about one submission (TernError). Any other
 * failure (the database read-only or out of disk, a table missing, a bug) would fail every half
 * alike, 2n - 1 writes one after another for nothing, so the group gets it at once. With the
 * database gone, a retry would only fail again, and its clean 503 could hide that the shared COMMIT
 * was applied (the lost-commit answer says so; see HttpErrorFilter).
 */
export function worthSplitting(err: unknown): boolean {
  if (isDependencyFailure(err)) return false;
  if (err instanceof TernError) return true;
  const code = pgErrorCode(err);
  return code !== undefined && ['22', '23', '40'].includes(code.slice(0, 2));
}

@Injectable()
export class EventsService {
  private readonly logger = new Logger(EventsService.name);
  /**
   * Concurrent triggers are written together: one write for many requests (group commit). One
   * write at a time, so each gathers every request that came in meanwhile: a second goes beside it
   * only for a backlog that fills a write, or once the latest write has run OVERLAP_AFTER_MS (a
   * slow write holds the others up no longer). With four at once, as before, 32 callers' single
   * events went in writes of about 10 instead of 16, and each cost Postgres about half as much CPU
   * again (bench/README.md, ninth session).
   */
  private readonly ingest = new GroupCommit<TenantEventInput[], AcceptedEventDto[]>(
    (submissions) => this.writeSubmissions(submissions),
    (s) => s.length,
    {
      maxItems: 1_000,
      maxInFlight: 4,
      overlapAfterMs: OVERLAP_AFTER_MS,
      retryAlone: worthSplitting,
    },
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly catalog: CatalogService,
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
    try {
      return await this.ingest.submit(inputs.map((i) => ({ ...i, tenantId })));
    } catch (e) {
      // The tenant was deleted after the request's guard found it (the events' foreign key).
      if (pgErrorCode(e) === FOREIGN_KEY_VIOLATION)
        throw new TernError('not_found', 'Tenant not found (deleted while the event was stored)');
      throw e;
    }
  }

  /** One write for many submissions; each gets its own slice of the answer back. */
  private async writeSubmissions(submissions: TenantEventInput[][]): Promise<AcceptedEventDto[][]> {
    // recordMany writes in one statement, but it runs in an explicit transaction all the same: if
    // the connection dies before COMMIT nothing was written (a clean 503), and only a COMMIT whose
    // answer is lost leaves the outcome unknown, which the error filter says in so many words.
    const { accepted, fresh, wake } = await this.dataSource.transaction((m) =>
      this.recordMany(m, submissions.flat()),
    );
    this.metrics.eventAccepted(fresh);
    // Committed: nothing from here on may throw, or the group commit would write these events
    // again in smaller writes (retryAlone). A wake-up that fails is the sweeper's.
    try {
      this.wake(wake);
    } catch (e) {
      this.logger.warn(`could not wake the dispatcher: ${(e as Error).message}`);
    }
    const out: AcceptedEventDto[][] = [];
    let at = 0;
    for (const s of submissions) {
      out.push(accepted.slice(at, at + s.length));
      at += s.length;
    }
    return out;
  }

  /** Wakes the dispatcher for what recordMany wrote (and found already written); best effort. */
  private wake(w: Wake): void {
    void this.queue.wakeEvents(w.events);
    this.wakeFor(w.earlier);
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
      if (known.reserved || isReservedEventTypeName(type)) {
        throw new TernError('rejected', `${field(i, 'type')}: "${type}" is reserved for Tern`, [
          { field: field(i, 'type'), message: 'reserved event type' },
        ]);
      }
      const valid = known.validate ? runValidator(known.validate, data) : true;
      if (valid === ENDLESS_SCHEMA) {
        throw new TernError(
          'rejected',
          `${field(i, 'data')} could not be checked: the schema of ${type} ${ENDLESS_SCHEMA}`,
          [{ field: field(i, 'data'), message: `the schema of ${type} ${ENDLESS_SCHEMA}` }],
        );
      }
      if (known.validate && valid === false) {
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
   * Stores one tenant's events and their fan-out inside the caller's transaction (alerts, test
   * events). See recordMany.
   */
  recordEvents(
    manager: EntityManager,
    tenantId: string,
    inputs: TriggerInput[],
    options: RecordOptions = {},
  ): Promise<Recorded> {
    return this.recordMany(
      manager,
      inputs.map((i) => ({ ...i, tenantId })),
      options,
    );
  }

  /**
   * Stores events (of any tenants) and one delivery per subscribed endpoint with the caller's
   * manager (a transaction's, or not): one statement whatever the number of events. Events whose
   * idempotency key was already used come back as they were, with their deliveries, and add
   * nothing (`fresh` counts the rest). `wake` is what to wake once committed (see wake).
   */
  async recordMany(
    manager: EntityManager,
    inputs: TenantEventInput[],
    options: RecordOptions = {},
  ): Promise<Recorded> {
    const now = new Date();
    const timestamp = now.toISOString();
    const prepared: Prepared[] = inputs.map((input) => {
      const id = newId('evt');
      return {
        id,
        tenantId: input.tenantId,
        type: input.type,
        timestamp,
        body: eventBody(id, input.type, timestamp, input.data),
        idempotencyKey: input.idempotencyKey ?? null,
      };
    });

    const pairs = { tenant: [] as string[], type: [] as string[], pattern: [] as string[] };
    if (!options.onlyEndpointId) {
      const seen = new Set<string>();
      for (const { tenantId, type } of prepared) {
        const key = tenantKey(tenantId, type);
        if (seen.has(key)) continue;
        seen.add(key);
        for (const pattern of patternsFor(type)) {
          pairs.tenant.push(tenantId);
          pairs.type.push(type);
          pairs.pattern.push(pattern);
        }
      }
    }
    // A row per inserted event, and a row per (tenant, type, endpoint) of the fan-out: see
    // INSERT_EVENTS for what the deliveries are made of.
    const rows: {
      event_id: string | null;
      tenant_id: string;
      type: string;
      endpoint_id: string | null;
      enabled: boolean | null;
      n: number | null;
    }[] = await runPrepared(manager, INSERT_EVENTS, [
      prepared.map((p) => p.id),
      prepared.map((p) => p.tenantId),
      prepared.map((p) => p.type),
      prepared.map((p) => p.body),
      prepared.map((p) => p.idempotencyKey),
      now,
      pairs.tenant,
      pairs.type,
      pairs.pattern,
      options.onlyEndpointId ?? null,
      maxAttempts(this.config.retrySchedule),
      options.isAlert ?? false,
    ]);
    const insertedIds = new Set<string>();
    const fanOut = new Map<
      string,
      { n: number; endpointId: string; status: string; tail: string }[]
    >();
    for (const r of rows) {
      if (r.event_id !== null) {
        insertedIds.add(r.event_id);
        continue;
      }
      appendTo(fanOut, tenantKey(r.tenant_id, r.type), {
        n: r.n!,
        endpointId: r.endpoint_id!,
        status: r.enabled ? 'pending' : 'paused',
        tail: deliveryIdTail(r.n!),
      });
    }
    for (const targets of fanOut.values()) targets.sort((a, b) => a.n - b.n);
    const deliveriesOf = (p: Prepared): EventDeliveryRefDto[] => {
      const prefix = deliveryIdPrefix(p.id);
      return (fanOut.get(tenantKey(p.tenantId, p.type)) ?? []).map((t) => ({
        id: prefix + t.tail,
        endpointId: t.endpointId,
        status: t.status,
      }));
    };
    const fresh = prepared.filter((p) => insertedIds.has(p.id));
    const replayed = prepared.filter((p) => !insertedIds.has(p.id));
    // Each pair's new events, to wake with the pair's pending targets (see EventGroup).
    const freshByPair = new Map<string, string[]>();
    for (const p of fresh) appendTo(freshByPair, tenantKey(p.tenantId, p.type), p.id);
    const events: EventGroup[] = [];
    for (const [key, eventIds] of freshByPair) {
      const targets = (fanOut.get(key) ?? [])
        .filter((t) => t.status === 'pending')
        .map((t): [string, number] => [t.endpointId, t.n]);
      if (targets.length > 0) events.push([eventIds, targets]);
    }

    const earlier =
      replayed.length > 0
        ? await this.findByKeys(manager, replayed)
        : new Map<string, AcceptedEventDto>();
    const accepted = prepared.map((p) => {
      if (insertedIds.has(p.id)) {
        return {
          id: p.id,
          type: p.type,
          timestamp: p.timestamp,
          deliveries: deliveriesOf(p),
        };
      }
      const e = earlier.get(tenantKey(p.tenantId, p.idempotencyKey!));
      if (!e)
        // The event that held the key went between the insert and this read (its tenant deleted):
        // a conflict to try again, which a write of this submission alone may then get past.
        throw new TernError(
          'conflict',
          `idempotencyKey ${p.idempotencyKey} was taken by an event that is gone; try again`,
        );
      return e;
    });
    return {
      accepted,
      fresh: fresh.length,
      wake: { events, earlier: [...earlier.values()] },
    };
  }

  /** Events already holding these (tenant, idempotency key) pairs, with their deliveries. */
  private async findByKeys(
    manager: EntityManager,
    replayed: Prepared[],
  ): Promise<Map<string, AcceptedEventDto>> {
    const events: {
      id: string;
      tenant_id: string;
      type: string;
      body: string;
      idempotency_key: string;
    }[] = await manager.query(
      `SELECT e.id, e.tenant_id, e.type, e.body, e.idempotency_key
           FROM unnest($1::text[], $2::text[]) AS k(tenant_id, key)
           JOIN events e ON e.tenant_id = k.tenant_id AND e.idempotency_key = k.key`,
      [replayed.map((p) => p.tenantId), replayed.map((p) => p.idempotencyKey)],
    );
    const deliveries: { id: string; event_id: string; endpoint_id: string; status: string }[] =
      events.length
        ? await manager.query(
            `SELECT d.* FROM unnest($1::text[]) AS k(id) CROSS JOIN LATERAL (
               SELECT id, event_id, endpoint_id, ${DELIVERY_STATUS_SQL} AS status FROM deliveries
                WHERE ${eventDeliveriesSql('k.id')}) d
              ORDER BY d.id`,
            [[...new Set(events.map((e) => e.id))]], // a key submitted twice finds its event twice
          )
        : [];
    const out = new Map<string, AcceptedEventDto>();
    for (const e of events) {
      out.set(tenantKey(e.tenant_id, e.idempotency_key), {
        id: e.id,
        type: e.type,
        timestamp: JSON.parse(e.body).timestamp as string,
        deliveries: deliveries
          .filter((d) => d.event_id === e.id)
          .map((d) => ({ id: d.id, endpointId: d.endpoint_id, status: d.status })),
      });
    }
    return out;
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
