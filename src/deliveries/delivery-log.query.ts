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
import { idFloor } from '../common/ids';

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
export function deliveryStatusConditions(status: string, param: (v: unknown) => string): string[] {
  if (status === 'sending')
    return [`status = 'pending' AND claim_id IS NOT NULL`, `status = 'sending'`];
  if (status === 'pending') return [`status = 'pending' AND claim_id IS NULL`];
  return [`status = ${param(status)}`];
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
  if (filter.tenantId !== undefined) where.push(`tenant_id = ${param(filter.tenantId)}`);
  if (filter.endpointId !== undefined) where.push(`endpoint_id = ${param(filter.endpointId)}`);
  if (filter.eventId !== undefined) where.push(`event_id = ${param(filter.eventId)}`);
  if (filter.eventType !== undefined) where.push(`event_type = ${param(filter.eventType)}`);
  // created_at decides only near the window's edges; deeper inside, the id's own time already
  // proves membership. Same rows as `created_at >= since AND created_at < until`, but the planner
  // no longer multiplies two correlated range selectivities (id and created_at), which made it
  // underestimate ~30x and pick bitmap scans plus a sort over an ordered scan that stops at LIMIT.
  if (filter.since !== undefined) {
    const since = filter.since.getTime();
    where.push(`id >= ${param(idFloor('dlv', since - ID_TIME_SLACK_MS))}`);
    where.push(
      `(id >= ${param(idFloor('dlv', since + ID_TIME_SLACK_MS))} OR created_at >= ${param(filter.since.toISOString())}::timestamptz)`,
    );
  }
  if (filter.until !== undefined) {
    const until = filter.until.getTime();
    where.push(`id < ${param(idFloor('dlv', until + ID_TIME_SLACK_MS))}`);
    where.push(
      `(id < ${param(idFloor('dlv', until - ID_TIME_SLACK_MS))} OR created_at < ${param(filter.until.toISOString())}::timestamptz)`,
    );
  }
  if (filter.beforeId !== undefined) where.push(`id < ${param(filter.beforeId)}`);
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
    : [...new Set(filter.statuses ?? [])].flatMap((s) => deliveryStatusConditions(s, param));
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
