// What happens to an endpoint's deliveries when the endpoint changes state: paused while it is
// disabled, resumed when it is enabled again, cancelled when it is deleted.
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { MetricsService } from '../metrics/metrics.service';

/** What a paused delivery becomes when its endpoint is enabled (again): due now. */
const RESUME = `status = 'pending', next_attempt_at = now(), updated_at = now()`;

/**
 * The ids of `paused` deliveries paused `$2` ms ago at least, of the endpoints `endpoints` (a
 * condition on `ep`), `$1` at most: an array, so the UPDATE around it reaches and locks the rows by
 * primary key in id order, as the other statements that lock many deliveries take them.
 */
const strandedIds = (endpoints: string) => `ARRAY(
  SELECT p.id
    FROM endpoints ep
    CROSS JOIN LATERAL (
      SELECT id FROM deliveries
       WHERE endpoint_id = ep.id AND status = 'paused'
         AND updated_at < now() - make_interval(secs => $2::double precision / 1000)
       LIMIT $1) p
   WHERE ${endpoints}
   LIMIT $1)`;

@Injectable()
export class DeliveryLifecycleService {
  constructor(
    private readonly metrics: MetricsService,
    private readonly dataSource: DataSource,
  ) {}
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
      `UPDATE deliveries SET ${RESUME} WHERE endpoint_id = $1 AND status = 'paused' RETURNING id`,
      [endpointId],
    );
    return (rows as { id: string }[]).map((r) => r.id);
  }

  /**
   * Paused deliveries of enabled endpoints, paused at least `graceMs` ago, made due now (`limit` at
   * most); returns them ([id, endpointId]) to wake. The statements that write `paused` read the
   * endpoint without a lock: an ingest's fan-out, a claim or a result write that read it disabled
   * just before a re-enable committed can commit its `paused` row after the re-enable's resume
   * (resumeEndpoint) has run, and that delivery would wait for the next disable and enable. The
   * sweeper repairs such rows (SweeperService). A row made pending here for an endpoint disabled
   * again meanwhile is parked by its claim, which reads the endpoint again (a manual retry's or a
   * `webhook.test`'s is sent, as it would have been).
   */
  async resumeStranded(limit: number, graceMs: number): Promise<[string, string][]> {
    const [rows]: [{ id: string; endpoint_id: string }[]] = await this.dataSource.query(
      `UPDATE deliveries d SET ${RESUME}
        WHERE d.id = ANY(${strandedIds('ep.enabled AND ep.deleted_at IS NULL')})
          AND d.status = 'paused'
        RETURNING d.id, d.endpoint_id`,
      [limit, graceMs],
    );
    return rows.map((r) => [r.id, r.endpoint_id]);
  }

  /**
   * Paused deliveries of endpoints deleted in the last day, paused at least `graceMs` ago,
   * cancelled (`limit` at most); returns how many. The same race as resumeStranded's, against a
   * delete: a write that read the endpoint before its delete committed can commit a `paused` row
   * after the delete's cancelEndpoint has run. Only the ingest can: a claim or a result write
   * touches a row the delete's cancel has locked, and reads it again. (A `pending` one is cancelled
   * by its claim.) The race lasts as long as a statement, so a day back is ample, and keeps the look
   * off the endpoints deleted long ago; a row stranded with no sweep for a day stays `paused`, never
   * sent.
   */
  async cancelStranded(limit: number, graceMs: number): Promise<number> {
    const [, count] = await this.dataSource.query(
      `UPDATE deliveries d SET status = 'cancelled', next_attempt_at = NULL, updated_at = now()
        WHERE d.id = ANY(${strandedIds(`ep.deleted_at > now() - interval '1 day'`)})
          AND d.status = 'paused'`,
      [limit, graceMs],
    );
    if (count) this.metrics.deliveryOutcome('cancelled', count);
    return count ?? 0;
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
