// The delivery log's page query as plain SQL, built from filters with no Nest or TypeORM inside, so
// the service and bench/log-queries.js run exactly the same statement.
//
// Every shape is meant to be an index scan that stops after LIMIT rows:
// - ORDER BY id DESC with `id < cursor` (keyset) rides the trailing `id` of each index, read
//   backwards (the indexes ascend: migrations/1732410000000-AscendingLogIndexes.ts);
// - since/until become id bounds (ids are time-ordered), with created_at deciding at the edges;
// - several statuses become one branch per status (UNION ALL of ordered, limited index scans)
//   because `status = ANY(...)` cannot return rows in id order from a (.., status, id) index; so
//   does no status at all for a tenant's or an endpoint's log.
import { deliveryIdPrefixSql, idFloor } from '../common/ids';

export const DELIVERY_STATUSES = [
  'pending',
  'sending',
  'succeeded',
  'failed',
  'paused',
  'cancelled',
] as const;

/**
 * What the status column can hold: the contract's statuses but `sending`, which is a pending row
 * held by a claim (see DELIVERY_STATUS_SQL), and yet 'sending' too, from a worker older than the
 * HotClaims migration.
 */
const STORED_STATUSES = ['pending', 'succeeded', 'failed', 'paused', 'cancelled', 'sending'];

export interface DeliveryLogFilter {
  /** Required on tenant routes; optional for the admin's cross-tenant log. */
  tenantId?: string;
  statuses?: string[];
  eventType?: string;
  endpointId?: string;
  eventId?: string;
  /** Inclusive lower bound on created_at. */
  since?: Date;
  /** Exclusive upper bound on created_at. */
  until?: Date;
  /** Keyset cursor: only ids below this one. */
  beforeId?: string;
}

/**
 * How far an id's embedded time may be from the row's created_at (the id comes from the API
 * process clock, created_at may come from Postgres' now()). Within this distance of since/until
 * the created_at column decides, so a small clock difference never hides or adds a row.
 */
export const ID_TIME_SLACK_MS = 60_000;

/**
 * A delivery in flight keeps status 'pending' in its row, held by its claim_id: the claim then
 * changes no indexed column and Postgres makes it a heap-only update, with no index writes
 * (migrations/1732370000000-HotClaims.ts). This is the contract's status of a row.
 */
export const DELIVERY_STATUS_SQL = `CASE WHEN claim_id IS NOT NULL THEN 'sending' ELSE status END`;

/**
 * The stored forms of one contract status, as SQL conditions on a deliveries row, each one index
 * branch; `param` binds a value. `sending` is a pending row held by a claim, or a row a worker
 * older than the HotClaims migration left as 'sending'.
 */
export function deliveryStatusConditions(
  status: string,
  param: (v: unknown) => string,
  due = '',
): string[] {
  if (status === 'sending')
    return [`status = 'pending' AND claim_id IS NOT NULL${due}`, `status = 'sending'`];
  if (status === 'pending') return [`status = 'pending' AND claim_id IS NULL${due}`];
  return [`status = ${param(status)}`];
}

/**
 * Said of pending rows in the log across tenants and endpoints: true of every one (a pending row
 * always has its next attempt's time; the sweeper finds them by it too), and it lets the planner
 * read them through deliveries_due_idx when the primary key would be a long walk: pending rows are
 * not in deliveries_unsettled_idx (migrations/1732430000000-DeliveryIndexesThroughEvents.ts).
 */
const DUE = ' AND next_attempt_at IS NOT NULL';

/**
 * Whether a deliveries row's id was made before ids came from events (common/ids.ts, deliveryId):
 * its first 26 characters are not its event's delivery id prefix. Only such rows are in the partial
 * indexes deliveries_legacy_event_idx and deliveries_legacy_type_idx, whose predicate this is, word
 * for word (migrations/1732430000000-DeliveryIndexesThroughEvents.ts), so that the planner proves
 * a query's use of them.
 */
export const LEGACY_DELIVERY_SQL = `left(id, 26) <> ${deliveryIdPrefixSql('event_id')}`;

/** The first and last delivery id an event can have (deliveryIdTail: 4 characters). */
function eventRange(eventId: string): string {
  const prefix = deliveryIdPrefixSql(eventId);
  return `id BETWEEN ${prefix} || '0000' AND ${prefix} || 'zzzz'`;
}

/**
 * SQL: the deliveries of the event `eventId` (an SQL expression: a parameter, or a column of an
 * outer row). Deliveries keep no index on event_id: an event's deliveries are one range of the
 * primary key, as their ids begin with the event's (common/ids.ts), and those written before that
 * are in deliveries_legacy_event_idx. The legacy arm repeats `event_id = ...` so that the legacy
 * index's scan takes it as its key.
 */
export function eventDeliveriesSql(eventId: string): string {
  return (
    `event_id = ${eventId} AND (${eventRange(eventId)} ` +
    `OR (${LEGACY_DELIVERY_SQL} AND event_id = ${eventId}))`
  );
}

export const DELIVERY_LOG_COLUMNS =
  `id, tenant_id, event_id, endpoint_id, event_type, ${DELIVERY_STATUS_SQL} AS status, attempts, ` +
  'next_attempt_at, last_status_code, last_error, created_at, updated_at';

export interface SqlQuery {
  sql: string;
  params: unknown[];
}

export function deliveryLogQuery(filter: DeliveryLogFilter, limit: number): SqlQuery {
  const params: unknown[] = [];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where: string[] = [];
  /** The id bounds' parameters, `id >= from` and `id < below` (for the walk by event type). */
  const bounds = { from: [] as string[], below: [] as string[] };
  const tenant = filter.tenantId !== undefined ? param(filter.tenantId) : undefined;
  if (tenant) where.push(`tenant_id = ${tenant}`);
  if (filter.endpointId !== undefined) where.push(`endpoint_id = ${param(filter.endpointId)}`);
  if (filter.eventId !== undefined) where.push(eventDeliveriesSql(param(filter.eventId)));
  const type = filter.eventType !== undefined ? param(filter.eventType) : undefined;
  if (type) where.push(`event_type = ${type}`);
  // created_at decides only near the window's edges; deeper inside, the id's own time already
  // proves membership. Same rows as `created_at >= since AND created_at < until`, but the planner
  // no longer multiplies two correlated range selectivities (id and created_at), which made it
  // underestimate ~30x and pick bitmap scans plus a sort over an ordered scan that stops at LIMIT.
  if (filter.since !== undefined) {
    const since = filter.since.getTime();
    const from = param(idFloor('dlv', since - ID_TIME_SLACK_MS));
    bounds.from.push(from);
    where.push(`id >= ${from}`);
    where.push(
      `(id >= ${param(idFloor('dlv', since + ID_TIME_SLACK_MS))} OR created_at >= ${param(filter.since.toISOString())}::timestamptz)`,
    );
  }
  if (filter.until !== undefined) {
    const until = filter.until.getTime();
    const below = param(idFloor('dlv', until + ID_TIME_SLACK_MS));
    bounds.below.push(below);
    where.push(`id < ${below}`);
    where.push(
      `(id < ${param(idFloor('dlv', until - ID_TIME_SLACK_MS))} OR created_at < ${param(filter.until.toISOString())}::timestamptz)`,
    );
  }
  if (filter.beforeId !== undefined) {
    const below = param(filter.beforeId);
    bounds.below.push(below);
    where.push(`id < ${below}`);
  }
  const lim = param(limit);

  // A tenant's or an endpoint's whole log is read through its (..., status, id) index, one
  // ordered branch per stored status: deliveries keeps no (tenant_id, id) or (endpoint_id, id)
  // index, each of which cost every insert and every result write an entry.
  const byStatus =
    filter.statuses === undefined || filter.statuses.length === 0
      ? filter.eventId === undefined &&
        (filter.endpointId !== undefined ||
          (filter.tenantId !== undefined && filter.eventType === undefined))
      : false;
  const conditions = byStatus
    ? STORED_STATUSES.map((s) => `status = '${s}'`)
    : [...new Set(filter.statuses ?? [])].flatMap((s) =>
        deliveryStatusConditions(s, param, tenant || filter.endpointId !== undefined ? '' : DUE),
      );
  // A tenant's log of one type, and nothing narrower (no status, endpoint or event): byEventType.
  const narrower = filter.endpointId !== undefined || filter.eventId !== undefined;
  if (tenant && type && conditions.length === 0 && !narrower)
    return { sql: byEventType(tenant, type, where, bounds, lim), params };
  const select = (extra: string[]) => {
    const conds = [...where, ...extra];
    return (
      `SELECT ${DELIVERY_LOG_COLUMNS} FROM deliveries` +
      (conds.length ? ` WHERE ${conds.join(' AND ')}` : '') +
      ` ORDER BY id DESC LIMIT ${lim}`
    );
  };
  if (conditions.length <= 1) return { sql: select(conditions), params };
  const branches = conditions.map((c) => `(${select([c])})`);
  return {
    sql: `SELECT * FROM (${branches.join(' UNION ALL ')}) d ORDER BY id DESC LIMIT ${lim}`,
    params,
  };
}

/**
 * The log of a tenant's event type: its events of that type, newest first (events_type_idx, in the
 * order of their deliveries' ids), each event's deliveries read by their id range; with the rows
 * older than those ids (deliveries_legacy_type_idx). Deliveries keep no (tenant_id, event_type,
 * id) index, which cost every delivery written an entry. `where` holds every condition on a
 * deliveries row; the walk through the events stops at the id bounds (`bounds.from`, inclusive, and
 * `bounds.below`, exclusive): a delivery id in them has an event prefix within their first 26
 * characters.
 */
function byEventType(
  tenant: string,
  type: string,
  where: string[],
  bounds: { from: string[]; below: string[] },
  lim: string,
): string {
  const prefix = deliveryIdPrefixSql('e.id');
  const walk = [
    `e.tenant_id = ${tenant}`,
    `e.type = ${type}`,
    ...bounds.from.map((p) => `${prefix} >= left(${p}, 26)`),
    ...bounds.below.map((p) => `${prefix} <= left(${p}, 26)`),
  ];
  const ofEvent = [eventRange('e.id'), 'event_id = e.id', `NOT (${LEGACY_DELIVERY_SQL})`];
  const byEvent =
    `(SELECT d.* FROM events e CROSS JOIN LATERAL (SELECT ${DELIVERY_LOG_COLUMNS} FROM deliveries` +
    ` WHERE ${[...ofEvent, ...where].join(' AND ')} OFFSET 0) d` +
    ` WHERE ${walk.join(' AND ')} ORDER BY ${prefix} DESC, d.id DESC LIMIT ${lim})`;
  const legacy =
    `(SELECT ${DELIVERY_LOG_COLUMNS} FROM deliveries` +
    ` WHERE ${[LEGACY_DELIVERY_SQL, ...where].join(' AND ')} ORDER BY id DESC LIMIT ${lim})`;
  return `SELECT * FROM (${byEvent} UNION ALL ${legacy}) d ORDER BY id DESC LIMIT ${lim}`;
}
