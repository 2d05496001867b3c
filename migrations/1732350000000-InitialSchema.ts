// The first schema: tenants and their keys, the event-type catalog, endpoints and their
// subscriptions, events, deliveries, attempts and alerts. Hand-written; `down` drops it all.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1732350000000 implements MigrationInterface {
  name = 'InitialSchema1732350000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX tenants_created_idx ON tenants (created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE api_keys (
        id          text PRIMARY KEY,
        tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        secret_hash bytea NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        revoked_at  timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id DESC)`);

    await q.query(`
      CREATE TABLE event_types (
        name        text PRIMARY KEY,
        category    text,
        description text,
        schema      jsonb,
        reserved    boolean NOT NULL DEFAULT false,
        archived_at timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX event_types_category_idx ON event_types (category, name)`);
    await q.query(`
      INSERT INTO event_types (name, category, description, reserved) VALUES
        ('tern.delivery.failed', 'tern', 'A delivery exhausted its attempts.', true),
        ('tern.endpoint.disabled', 'tern', 'An endpoint was disabled.', true),
        ('webhook.test', 'tern', 'A test event sent to one endpoint on request.', true)`);

    await q.query(`
      CREATE TABLE endpoints (
        id                      text PRIMARY KEY,
        tenant_id               text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        url                     text NOT NULL,
        description             text,
        headers                 jsonb NOT NULL DEFAULT '{}'::jsonb,
        enabled                 boolean NOT NULL DEFAULT true,
        disabled_reason         text,
        rate_limit_per_second   integer,
        secret                  text NOT NULL,
        previous_secret         text,
        previous_secret_expires_at timestamptz,
        consecutive_failures    integer NOT NULL DEFAULT 0,
        created_at              timestamptz NOT NULL DEFAULT now(),
        updated_at              timestamptz NOT NULL DEFAULT now(),
        deleted_at              timestamptz
      )`);
    await q.query(
      `CREATE INDEX endpoints_tenant_idx ON endpoints (tenant_id, id DESC) WHERE deleted_at IS NULL`,
    );

    await q.query(`
      CREATE TABLE endpoint_subscriptions (
        endpoint_id text NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
        tenant_id   text NOT NULL,
        pattern     text NOT NULL,
        PRIMARY KEY (endpoint_id, pattern)
      )`);
    await q.query(
      `CREATE INDEX endpoint_subscriptions_tenant_idx ON endpoint_subscriptions (tenant_id, pattern)`,
    );

    await q.query(`
      CREATE TABLE events (
        id              text PRIMARY KEY,
        tenant_id       text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        type            text NOT NULL,
        body            text NOT NULL,
        idempotency_key text,
        created_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX events_tenant_idx ON events (tenant_id, id DESC)`);
    await q.query(
      `CREATE UNIQUE INDEX events_idempotency_idx ON events (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE deliveries (
        id              text PRIMARY KEY,
        tenant_id       text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        event_id        text NOT NULL REFERENCES events(id) ON DELETE CASCADE,
        endpoint_id     text NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
        event_type      text NOT NULL,
        status          text NOT NULL CHECK (status IN ('pending','sending','succeeded','failed','paused','cancelled')),
        attempts        integer NOT NULL DEFAULT 0,
        max_attempts    integer NOT NULL,
        next_attempt_at timestamptz,
        lease_expires_at timestamptz,
        claim_id        uuid,
        last_status_code integer,
        last_error      text,
        is_alert        boolean NOT NULL DEFAULT false,
        manual_retry    boolean NOT NULL DEFAULT false,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    // Log queries: tenant (or all) newest first, optionally narrowed by status, endpoint, event or type.
    await q.query(`CREATE INDEX deliveries_tenant_idx ON deliveries (tenant_id, id DESC)`);
    await q.query(
      `CREATE INDEX deliveries_tenant_status_idx ON deliveries (tenant_id, status, id DESC)`,
    );
    await q.query(`CREATE INDEX deliveries_endpoint_idx ON deliveries (endpoint_id, id DESC)`);
    await q.query(`CREATE INDEX deliveries_event_idx ON deliveries (event_id)`);
    await q.query(
      `CREATE INDEX deliveries_tenant_type_idx ON deliveries (tenant_id, event_type, id DESC)`,
    );
    // Dispatch: what is due, and what is in flight with a lease that may expire.
    await q.query(
      `CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending'`,
    );
    await q.query(
      `CREATE INDEX deliveries_lease_idx ON deliveries (lease_expires_at) WHERE status = 'sending'`,
    );

    await q.query(`
      CREATE TABLE attempts (
        id            text PRIMARY KEY,
        delivery_id   text NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        attempt       integer NOT NULL,
        started_at    timestamptz NOT NULL,
        duration_ms   integer NOT NULL,
        status_code   integer,
        response_body text,
        error         text
      )`);
    await q.query(`CREATE INDEX attempts_delivery_idx ON attempts (delivery_id, attempt)`);

    await q.query(`
      CREATE TABLE alerts (
        id          text PRIMARY KEY,
        tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        type        text NOT NULL,
        message     text NOT NULL,
        endpoint_id text,
        delivery_id text,
        event_id    text,
        data        jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX alerts_tenant_idx ON alerts (tenant_id, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'alerts',
      'attempts',
      'deliveries',
      'events',
      'endpoint_subscriptions',
      'endpoints',
      'event_types',
      'api_keys',
      'tenants',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
