// The ingest statement, in a module of its own so bench/replay-statements.js can replay it as built.
import { deliveryIdPrefixSql, deliveryIdTailSql } from '../common/ids';
import { preparedStatement } from '../database/prepared-statement';

/**
 * Events ($1..$5), their fan-out and their deliveries in one statement: atomic, and a delivery row
 * is written only for an event row that was (an idempotent replay inserts neither). Reading the
 * fan-out here rather than in a query of its own saves a round trip per group write.
 *
 * - Fan-out (`subs`): $7..$9 pair each (tenant, type) with the patterns that match the type
 *   (patternsFor), read once per pair (MATERIALIZED) however many events share it. With $10 set
 *   instead (ingestion then passes no patterns), every event goes to that endpoint of its tenant
 *   alone, subscribed or not (`webhook.test`).
 * - The lookups are LATERAL ... OFFSET 0: made per pattern row and then per endpoint, with the key
 *   in hand (subscriptions by (tenant_id, pattern), each endpoint by its id and tenant). As plain
 *   joins, the generic plan made on a fresh database (kept until the next ANALYZE; see
 *   prepared-statement.ts) scanned every endpoint of the database for each group write.
 * - Delivery ids are made here (ids.ts): the event's part once per event, and the endpoint's place
 *   `n` among the endpoints of the event's (tenant, type) in id order once per pair, so an event's
 *   deliveries sort as its endpoints do.
 * - The answer is what the deliveries are made of, not the deliveries: a row per inserted event
 *   (`event_id` set) and a row per (tenant, type, endpoint) of the fan-out (`event_id` null).
 *   Every inserted event of a pair has a delivery to each of the pair's endpoints, with the id
 *   deliveryId(event_id, n), pending (paused for a disabled endpoint, `enabled` false). So a batch
 *   of 100 events to 10 endpoints sends back about 110 rows instead of 1,000, unsorted.
 */
export const INSERT_EVENTS = preparedStatement(
  'tern_insert_events',
  `WITH ev AS (
     INSERT INTO events (id, tenant_id, type, body, idempotency_key, created_at)
     SELECT u.id, u.tenant_id, u.type, u.body, u.key, $6
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
         AS u(id, tenant_id, type, body, key)
     ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
     RETURNING id, tenant_id, type, ${deliveryIdPrefixSql('id')} AS dlv
   ), subs AS MATERIALIZED (
     SELECT x.*, ${deliveryIdTailSql('x.n')} AS tail
       FROM (SELECT y.*, (row_number() OVER (PARTITION BY y.tenant_id, y.type
                                             ORDER BY y.endpoint_id))::int - 1 AS n
               FROM (SELECT DISTINCT p.tenant_id, p.type, m.endpoint_id, e.enabled
                       FROM unnest($7::text[], $8::text[], $9::text[]) AS p(tenant_id, type, pattern)
                       CROSS JOIN LATERAL (
                         SELECT s.endpoint_id FROM endpoint_subscriptions s
                          WHERE s.tenant_id = p.tenant_id AND s.pattern = p.pattern OFFSET 0) m
                       CROSS JOIN LATERAL (
                         SELECT e.enabled FROM endpoints e
                          WHERE e.id = m.endpoint_id AND e.tenant_id = p.tenant_id
                            AND e.deleted_at IS NULL
                         OFFSET 0) e
                      WHERE $10::text IS NULL) y
             UNION ALL
             SELECT DISTINCT ev.tenant_id, ev.type, o.id, true, 0
               FROM ev CROSS JOIN LATERAL (
                 SELECT e.id FROM endpoints e
                  WHERE e.id = $10::text AND e.tenant_id = ev.tenant_id AND e.deleted_at IS NULL
                 OFFSET 0) o) x
   ), dl AS (
     INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, max_attempts,
                             next_attempt_at, is_alert, created_at, updated_at)
     SELECT ev.dlv || s.tail, ev.tenant_id, ev.id, s.endpoint_id, ev.type,
            CASE WHEN s.enabled THEN 'pending' ELSE 'paused' END, $11,
            CASE WHEN s.enabled THEN now() END, $12, $6, $6
       FROM ev JOIN subs s ON s.tenant_id = ev.tenant_id AND s.type = ev.type
   )
   SELECT ev.id AS event_id, ev.tenant_id, ev.type, NULL::text AS endpoint_id,
          NULL::boolean AS enabled, NULL::int AS n
     FROM ev
   UNION ALL
   SELECT NULL, s.tenant_id, s.type, s.endpoint_id, s.enabled, s.n FROM subs s`,
);
