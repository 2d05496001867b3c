// The dispatcher's SQL on deliveries and attempts: claim a batch, record a batch of results, and
// find work whose wake-up was lost. Each is one statement, so a batch costs one round trip.
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { newId } from '../common/ids';
import { preparedStatement, runPrepared } from '../database/prepared-statement';

/** A claimed delivery with everything needed to send it. */
export interface ClaimedDelivery {
  id: string;
  tenantId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  /** This attempt's number (1 for the first). */
  attempt: number;
  maxAttempts: number;
  isAlert: boolean;
  manualRetry: boolean;
  claimId: string;
  body: string;
  url: string;
  headers: Record<string, string>;
  secrets: string[];
  rateLimitPerSecond: number | null;
}

export interface AttemptRecord {
  deliveryId: string;
  claimId: string;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  responseBody: string | null;
  error: string | null;
  /** The delivery's new state (a retry's `pending` is written `paused` for a disabled endpoint). */
  status: 'succeeded' | 'pending' | 'failed' | 'paused';
  /** When status is pending: how long from now (Postgres' now) until the next attempt. */
  retryInMs: number | null;
  /** The delivery may have at least this many attempts (an interrupted attempt gives one back). */
  maxAttemptsAtLeast: number;
  /** Cut short by shutdown: not counted as the attempt made (see DispatcherService). */
  interrupted: boolean;
  endpointId: string;
}

const LOST_ATTEMPT = 'no result: the worker stopped during the attempt (lease expired)';

/**
 * Claims the due, sendable deliveries among $1 for claim $2 with a lease of $3 ms, and parks the due
 * ones that may not be sent (see claim).
 *
 * Rows are reached by their ids and nothing else: `claimable` is a CASE, which no index matches
 * and no partial index's predicate can be proved from, so the only ways in are the primary key
 * (`id = ANY`) or a scan that `= ANY` over many ids prices as dear as it is. Written plainly, the
 * planner would read the due index, or every pending row, instead whenever its statistics called
 * pending rows rare; with autovacuum off those indexes also keep every dead entry, and such a
 * claim cost 11 ms instead of a fraction of one (bench/cost.js). The UPDATE tests it again on the
 * row it locks, so a row claimed or changed meanwhile is left alone.
 */
const CLAIMABLE = `CASE WHEN d.status = 'pending' AND d.claim_id IS NULL
                        AND d.next_attempt_at <= now() + interval '250 milliseconds' THEN true END`;
const CLAIM = preparedStatement(
  'tern_claim_deliveries',
  `WITH due AS (
     SELECT d.id, ep.deleted_at IS NULL AND (ep.enabled OR d.manual_retry OR d.event_type = 'webhook.test') AS sendable,
            ep.deleted_at IS NOT NULL AS gone
       FROM deliveries d JOIN endpoints ep ON ep.id = d.endpoint_id
      WHERE d.id = ANY($1::text[]) AND ${CLAIMABLE}
   ), changed AS (
     -- One pass over the due rows: a sendable one is claimed (columns no index covers: its status
     -- and next_attempt_at are set to what they were, which keeps the update heap-only); any other
     -- is parked or cancelled.
     UPDATE deliveries d
        SET status = CASE WHEN due.sendable THEN d.status WHEN due.gone THEN 'cancelled' ELSE 'paused' END,
            next_attempt_at = CASE WHEN due.sendable THEN d.next_attempt_at END,
            claim_id = CASE WHEN due.sendable THEN $2::uuid END,
            attempts = CASE WHEN due.sendable THEN d.attempts + 1 ELSE d.attempts END,
            lease_expires_at = CASE WHEN due.sendable
                                    THEN now() + make_interval(secs => $3::double precision / 1000)
                                    ELSE d.lease_expires_at END,
            updated_at = now()
       FROM due
      WHERE d.id = ANY($1::text[]) AND d.id = due.id AND ${CLAIMABLE}
     RETURNING d.id, d.tenant_id, d.event_id, d.endpoint_id, d.event_type, d.attempts, d.max_attempts,
               d.is_alert, d.manual_retry, due.sendable
   )
   SELECT c.id, c.tenant_id, c.event_id, c.endpoint_id, c.event_type, c.attempts, c.max_attempts,
          c.is_alert, c.manual_retry, e.body, ep.url, ep.headers, ep.secret,
          ep.rate_limit_per_second,
          CASE WHEN ep.previous_secret_expires_at > now() THEN ep.previous_secret END AS previous_secret
     FROM changed c
     JOIN events e ON e.id = c.event_id
     JOIN endpoints ep ON ep.id = c.endpoint_id
    WHERE c.sendable`,
);

/** Records a batch of attempts and moves their deliveries on (see record). */
const RECORD = preparedStatement(
  'tern_record_attempts',
  `WITH r0 AS (
     SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::int[], $5::int[], $6::text[],
                          $7::int[], $8::int[], $9::text[], $10::timestamptz[], $11::text[], $13::int[],
                          $14::text[], $15::bool[])
       AS r(id, claim_id, status, retry_ms, status_code, error, attempt, duration_ms,
            response_body, started_at, attempt_id, max_attempts, endpoint_id, interrupted)
   ), r AS (
     -- A retry for an endpoint disabled by now waits paused instead (whatever the claim saw).
     SELECT r0.*, CASE WHEN r0.status = 'pending'
                        AND NOT (SELECT ep.enabled FROM endpoints ep WHERE ep.id = r0.endpoint_id)
                       THEN 'paused' ELSE r0.status END AS next_status
       FROM r0
   ), upd AS (
     UPDATE deliveries d
        SET status = r.next_status,
            next_attempt_at = CASE WHEN r.next_status = 'pending'
                                   THEN now() + make_interval(secs => r.retry_ms::double precision / 1000) END,
            max_attempts = GREATEST(d.max_attempts, r.max_attempts),
            -- A manual retry's attempt is spent once it is made: what follows is the schedule, whose
            -- end raises its alert. (An attempt cut short by shutdown was not made.)
            manual_retry = CASE WHEN r.next_status = 'paused'
                                  OR (r.next_status = 'pending' AND NOT r.interrupted)
                                THEN false ELSE d.manual_retry END,
            lease_expires_at = NULL, claim_id = NULL, last_status_code = r.status_code,
            last_error = r.error, updated_at = now()
       FROM r
      WHERE d.id = ANY($1::text[]) AND d.id = r.id AND d.claim_id = r.claim_id
     RETURNING d.id, d.status
   ), ins AS (
     INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, status_code, response_body, error)
     SELECT r.attempt_id, r.id, r.attempt, r.started_at, r.duration_ms, r.status_code, r.response_body, r.error
       FROM r JOIN upd ON upd.id = r.id
   ), ok AS (
     UPDATE endpoints SET consecutive_failures = 0
      WHERE id = ANY($12::text[]) AND consecutive_failures > 0
   )
   SELECT id, status FROM upd`,
);

/** Gives claims back unsent (see unclaim); like the claim, it writes no index entry. */
const UNCLAIM = preparedStatement(
  'tern_unclaim_deliveries',
  `UPDATE deliveries d
      SET claim_id = NULL, lease_expires_at = NULL, attempts = d.attempts - 1, updated_at = now()
     FROM unnest($1::text[], $2::uuid[]) AS u(id, claim_id)
    WHERE d.id = ANY($1::text[]) AND d.id = u.id AND d.claim_id = u.claim_id
   RETURNING d.id`,
);

/**
 * A copy of `items` in the order of their delivery ids: every statement that locks many deliveries
 * takes them in that order (the tenant delete too), so two such statements can wait for each other
 * but never deadlock.
 */
function inIdOrder<T>(items: T[], id: (item: T) => string): T[] {
  return [...items].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
}

@Injectable()
export class DeliveryClaimsService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Claims the deliveries among `ids` that are due: one conditional UPDATE. Rows already claimed,
   * finished, paused or not yet due are left alone, so a job that runs twice sends nothing twice.
   * A due delivery whose endpoint was deleted or disabled meanwhile is not sent: it becomes
   * `cancelled` or `paused` (a manual retry and a `webhook.test` still go to a disabled endpoint).
   * A claimed row keeps status 'pending' (shown as `sending`, see DELIVERY_STATUS_SQL): the claim
   * changes only columns no index covers, so Postgres writes no index entry for it.
   * Rows are reached by id only (see CLAIM).
   */
  async claim(ids: string[], claimId: string, leaseMs: number): Promise<ClaimedDelivery[]> {
    if (ids.length === 0) return [];
    const sorted = inIdOrder(ids, (id) => id);
    const rows: any[] = await runPrepared(this.dataSource, CLAIM, [sorted, claimId, leaseMs]);
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      eventId: r.event_id,
      endpointId: r.endpoint_id,
      eventType: r.event_type,
      attempt: r.attempts,
      maxAttempts: r.max_attempts,
      isAlert: r.is_alert,
      manualRetry: r.manual_retry,
      claimId,
      body: r.body,
      url: r.url,
      headers: r.headers ?? {},
      secrets: r.previous_secret ? [r.secret, r.previous_secret] : [r.secret],
      rateLimitPerSecond: r.rate_limit_per_second,
    }));
  }

  /**
   * Gives back claims that were never sent (claimed ahead for an endpoint that then started to fail,
   * or held when the worker stopped): the delivery is pending and due again as if never claimed,
   * with its attempt count as it was, and no attempt is logged since none was made. Only rows
   * whose claim is still ours change; returns their ids.
   */
  async unclaim(items: { id: string; claimId: string }[]): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const sorted = inIdOrder(items, (i) => i.id);
    const rows: { id: string }[] = await runPrepared(this.dataSource, UNCLAIM, [
      sorted.map((i) => i.id),
      sorted.map((i) => i.claimId),
    ]);
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Records attempts and moves their deliveries on, in one statement. Only rows whose claim is
   * still ours are written; returns the ids that were, with the status each was given (a retry is
   * written `paused` if its endpoint is disabled by then). As in claim, deliveries are reached by id
   * only (`= ANY`), and each endpoint by its key.
   */
  async record(unordered: AttemptRecord[]): Promise<Map<string, AttemptRecord['status']>> {
    if (unordered.length === 0) return new Map();
    const results = inIdOrder(unordered, (r) => r.deliveryId);
    const col = <T>(f: (r: AttemptRecord) => T) => results.map(f);
    const succeededEndpoints = [
      ...new Set(results.filter((r) => r.status === 'succeeded').map((r) => r.endpointId)),
    ];
    const rows: { id: string; status: AttemptRecord['status'] }[] = await runPrepared(
      this.dataSource,
      RECORD,
      [
        col((r) => r.deliveryId),
        col((r) => r.claimId),
        col((r) => r.status),
        col((r) => (r.retryInMs === null ? null : Math.round(r.retryInMs))),
        col((r) => r.statusCode),
        col((r) => r.error),
        col((r) => r.attempt),
        col((r) => Math.round(r.durationMs)),
        col((r) => r.responseBody),
        col((r) => r.startedAt),
        col(() => newId('att')),
        succeededEndpoints,
        col((r) => r.maxAttemptsAtLeast),
        col((r) => r.endpointId),
        col((r) => r.interrupted),
      ],
    );
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /**
   * Deliveries whose claim outlived its lease (the worker died mid-attempt): the lost attempt is
   * logged as such and the delivery is due again. Returns them for a wake-up.
   *
   * No index covers the lease (a claim must write none, see claim). A claimed row is pending and
   * was due when claimed (at most 250 ms early), so once its lease of `leaseMs` has expired it is
   * past due by nearly that much: only that end of the due index is read, not the whole backlog.
   * A worker configured with a shorter lease has its expired claims found a little later, when
   * they are that old. Rows still 'sending' were claimed by a worker older than HotClaims.
   */
  async releaseExpiredLeases(limit: number, leaseMs: number): Promise<[string, string][]> {
    return this.dataSource.transaction(async (m) => {
      const expired: { id: string; endpoint_id: string; attempts: number; claimed_at: Date }[] =
        await m.query(
          `SELECT id, endpoint_id, attempts, updated_at AS claimed_at FROM deliveries
          WHERE ((status = 'pending' AND claim_id IS NOT NULL
                  AND next_attempt_at < now() - make_interval(secs => ($2::double precision - 250) / 1000))
                 OR status = 'sending')
            AND lease_expires_at < now()
          ORDER BY lease_expires_at LIMIT $1
          FOR UPDATE SKIP LOCKED`,
          [limit, leaseMs],
        );
      if (expired.length === 0) return [];
      const ids = expired.map((r) => r.id);
      await m.query(
        `UPDATE deliveries
            SET status = 'pending', next_attempt_at = now(), claim_id = NULL, lease_expires_at = NULL,
                                -- The lost attempt is given back once; lost twice in a row, it counts.
                max_attempts = CASE WHEN last_error IS DISTINCT FROM $2 THEN GREATEST(max_attempts, attempts + 1)
                                    ELSE max_attempts END,
                last_status_code = NULL,
                last_error = $2, updated_at = now()
          WHERE id = ANY($1::text[])`,
        [ids, LOST_ATTEMPT],
      );
      await m.query(
        `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, error)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::int[], $6::text[])`,
        [
          expired.map(() => newId('att')),
          ids,
          expired.map((r) => r.attempts),
          expired.map((r) => r.claimed_at),
          expired.map(() => 0),
          expired.map(() => LOST_ATTEMPT),
        ],
      );
      return expired.map((r): [string, string] => [r.id, r.endpoint_id]);
    });
  }

  /**
   * One endpoint's pending deliveries after `after` in id order, `limit` of them: its (endpoint_id,
   * status, id) index read forwards, stopping at the limit. Returns those due and held by no claim
   * (what its bounded line had no room for; see DispatcherService.refill), and the last id read, or
   * null when fewer than `limit` were left. Due and claim are checked on the rows found, not in the
   * index read: given them, the planner read the endpoint's whole backlog through the due-index
   * (`deliveries_due_idx`, every endpoint's due rows) or bitmap-scanned and sorted it.
   */
  async dueForEndpoint(
    endpointId: string,
    after: string | null,
    limit: number,
  ): Promise<{ ids: string[]; last: string | null }> {
    const rows: { id: string; due: boolean }[] = await this.dataSource.query(
      `SELECT c.id, d.claim_id IS NULL AND d.next_attempt_at <= now() AS due
         FROM (SELECT id FROM deliveries
                WHERE endpoint_id = $1 AND status = 'pending' AND id > $2
                ORDER BY id LIMIT $3) c
         JOIN deliveries d ON d.id = c.id
        ORDER BY c.id`,
      [endpointId, after ?? '', limit],
    );
    return {
      ids: rows.filter((r) => r.due).map((r) => r.id),
      last: rows.length === limit ? rows[rows.length - 1].id : null,
    };
  }

  /**
   * Pending deliveries overdue by more than `graceMs` (their wake-up was lost or is very late), in
   * (next_attempt_at, id) order after `after`, so successive sweeps walk the whole backlog instead
   * of offering the same oldest rows again and again.
   */
  async overdue(
    graceMs: number,
    limit: number,
    after: { at: Date; id: string } | null,
  ): Promise<{ items: [string, string][]; last: { at: Date; id: string } | null }> {
    const rows: { id: string; endpoint_id: string; next_attempt_at: Date }[] =
      await this.dataSource.query(
        `SELECT id, endpoint_id, next_attempt_at FROM deliveries
        WHERE status = 'pending' AND claim_id IS NULL
          AND next_attempt_at < now() - make_interval(secs => $1::double precision / 1000)
          AND ($3::timestamptz IS NULL OR (next_attempt_at, id) > ($3::timestamptz, $4::text))
        ORDER BY next_attempt_at, id LIMIT $2`,
        [graceMs, limit, after?.at ?? null, after?.id ?? ''],
      );
    const last =
      rows.length === limit
        ? { at: rows[rows.length - 1].next_attempt_at, id: rows[rows.length - 1].id }
        : null;
    return { items: rows.map((r) => [r.id, r.endpoint_id]), last };
  }
}
