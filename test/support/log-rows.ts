// Inserts realistic rows straight into a test database (tenants, catalog types, endpoints, events,
// deliveries, attempts, alerts), for tests of the read side that need exact timestamps and statuses.
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { IdPrefix, deliveryId, idFloor, newId } from '../../src/common/ids';
import { hashSecret } from '../../src/tenants/api-keys.service';

export interface DeliveryRowInput {
  /**
   * Default: the event's next delivery id, as ingestion makes it (deliveryId(eventId, n)). An id
   * given here is kept, as a row written before ids came from events would be (a legacy row).
   */
  id?: string;
  tenantId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  status: string;
  attempts?: number;
  nextAttemptAt?: Date | null;
  lastStatusCode?: number | null;
  lastError?: string | null;
  manualRetry?: boolean;
  createdAt: Date;
}

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * An id as newId would have made it at `ms`. Not newId itself: it never goes back in time within a
 * process, and fixtures are made for past instants after the app has made ids for now.
 */
export function idAt(prefix: IdPrefix, ms: number): string {
  const random = Array.from(randomBytes(16), (b) => ALPHABET[b % 32]).join('');
  return idFloor(prefix, ms).slice(0, -16) + random;
}

export class LogRows {
  private constructor(readonly db: Client) {}

  /** Deliveries made so far per event: the next one's place in its fan-out. */
  private readonly fanOut = new Map<string, number>();

  static async connect(databaseUrl: string): Promise<LogRows> {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    return new LogRows(db);
  }

  close(): Promise<void> {
    return this.db.end();
  }

  async tenant(id: string): Promise<string> {
    await this.db.query(`INSERT INTO tenants (id, name) VALUES ($1, $2)`, [id, `Tenant ${id}`]);
    return id;
  }

  /** Issues a tenant API key the way ApiKeysService does; returns the presented key. */
  async apiKey(tenantId: string): Promise<string> {
    const id = newId('key');
    const secret = randomBytes(32).toString('base64url');
    await this.db.query(`INSERT INTO api_keys (id, tenant_id, secret_hash) VALUES ($1, $2, $3)`, [
      id,
      tenantId,
      hashSecret(secret),
    ]);
    return `tern_${id}.${secret}`;
  }

  async eventType(name: string): Promise<void> {
    await this.db.query(
      `INSERT INTO event_types (name, category) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [name, name.split('.')[0]],
    );
  }

  async endpoint(tenantId: string, createdAt: Date, patterns: string[] = ['*']): Promise<string> {
    const id = idAt('ep', createdAt.getTime());
    await this.db.query(
      `INSERT INTO endpoints (id, tenant_id, url, secret, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $5)`,
      [
        id,
        tenantId,
        `https://hooks.example.com/${id}`,
        `whsec_${randomBytes(24).toString('base64')}`,
        createdAt,
      ],
    );
    for (const pattern of patterns) {
      await this.db.query(
        `INSERT INTO endpoint_subscriptions (endpoint_id, tenant_id, pattern) VALUES ($1, $2, $3)`,
        [id, tenantId, pattern],
      );
    }
    return id;
  }

  async event(tenantId: string, type: string, createdAt: Date): Promise<string> {
    const id = idAt('evt', createdAt.getTime());
    const body = JSON.stringify({
      id,
      type,
      timestamp: createdAt.toISOString(),
      data: { orderId: `ord_${randomBytes(4).toString('hex')}`, amount: 4200 },
    });
    await this.db.query(
      `INSERT INTO events (id, tenant_id, type, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
      [id, tenantId, type, body, createdAt],
    );
    return id;
  }

  async delivery(d: DeliveryRowInput): Promise<string> {
    const n = this.fanOut.get(d.eventId) ?? 0;
    this.fanOut.set(d.eventId, n + 1);
    const id = d.id ?? deliveryId(d.eventId, n);
    await this.db.query(
      // A `sending` delivery is stored as a pending one held by a claim (DELIVERY_STATUS_SQL).
      `INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, attempts,
                               max_attempts, next_attempt_at, last_status_code, last_error,
                               created_at, updated_at, claim_id, lease_expires_at, manual_retry)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 5, $8, $9, $10, $11, $11,
               CASE WHEN $12 THEN gen_random_uuid() END,
               CASE WHEN $12 THEN now() + interval '1 minute' END, $13)`,
      [
        id,
        d.tenantId,
        d.eventId,
        d.endpointId,
        d.eventType,
        d.status === 'sending' ? 'pending' : d.status,
        d.attempts ?? 0,
        // A pending row, held by a claim or not, always has its next attempt's time: due at once
        // when ingestion writes it.
        d.nextAttemptAt !== undefined
          ? d.nextAttemptAt
          : d.status === 'pending' || d.status === 'sending'
            ? d.createdAt
            : null,
        d.lastStatusCode ?? null,
        d.lastError ?? null,
        d.createdAt,
        d.status === 'sending',
        d.manualRetry ?? false,
      ],
    );
    return id;
  }

  async attempt(
    deliveryId: string,
    attempt: number,
    startedAt: Date,
    result: { statusCode?: number | null; responseBody?: string | null; error?: string | null },
  ): Promise<string> {
    const id = idAt('att', startedAt.getTime());
    await this.db.query(
      `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, status_code, response_body, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        id,
        deliveryId,
        attempt,
        startedAt,
        40 + attempt,
        result.statusCode ?? null,
        result.responseBody ?? null,
        result.error ?? null,
      ],
    );
    return id;
  }

  async alert(a: {
    tenantId: string;
    type: string;
    message: string;
    createdAt: Date;
    endpointId?: string | null;
    deliveryId?: string | null;
    eventId?: string | null;
    data?: Record<string, unknown>;
  }): Promise<string> {
    const id = idAt('alr', a.createdAt.getTime());
    await this.db.query(
      `INSERT INTO alerts (id, tenant_id, type, message, endpoint_id, delivery_id, event_id, data, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        id,
        a.tenantId,
        a.type,
        a.message,
        a.endpointId ?? null,
        a.deliveryId ?? null,
        a.eventId ?? null,
        JSON.stringify(a.data ?? {}),
        a.createdAt,
      ],
    );
    return id;
  }
}
