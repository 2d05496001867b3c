// TypeORM options shared by the app, the migration runner and tests.
import { join } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { Client } from 'pg';
import { Tenant } from '../tenants/entities/tenant.entity';
import { ApiKey } from '../tenants/entities/api-key.entity';
import { EventType } from '../catalog/entities/event-type.entity';
import { Endpoint } from '../endpoints/entities/endpoint.entity';
import { EndpointSubscription } from '../endpoints/entities/endpoint-subscription.entity';
import { TernEvent } from '../events/entities/event.entity';
import { Delivery } from '../deliveries/entities/delivery.entity';
import { Attempt } from '../deliveries/entities/attempt.entity';
import { Alert } from '../alerts/entities/alert.entity';

export const ENTITIES = [
  Tenant,
  ApiKey,
  EventType,
  Endpoint,
  EndpointSubscription,
  TernEvent,
  Delivery,
  Attempt,
  Alert,
];

/** How long the app waits on Postgres; without them a partitioned connection hangs a request forever. */
export interface DatabaseTimeouts {
  /** A new connection (or a free one from the full pool) within this, or the query fails. */
  connectTimeoutMs: number;
  /** An answer to each statement within this, or the statement fails and its connection is closed. */
  queryTimeoutMs: number;
}

const isQueryTimeout = (err: unknown) => (err as Error | null)?.message === 'Query read timeout';

/**
 * pg's `query_timeout` fails the query but keeps its connection, which goes back to the pool still
 * waiting for that answer: on a dead network every later query on it times out too, and on a live
 * one the late answer arrives after we gave up. This client closes its connection instead, so the
 * pool drops it and opens a fresh one.
 */
export class DeadlineClient extends Client {
  constructor(config?: ConstructorParameters<typeof Client>[0]) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    const abandon = (err: unknown) => {
      if (isQueryTimeout(err)) void this.end().catch(() => undefined);
    };
    (this as { query: unknown }).query = (...args: unknown[]) => {
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        args[args.length - 1] = (err: unknown, res: unknown) => {
          abandon(err);
          (last as (e: unknown, r: unknown) => void)(err, res);
        };
        return query(...args);
      }
      const result = query(...args);
      if (result instanceof Promise) result.catch(abandon);
      return result;
    };
  }
}

export function dataSourceOptions(
  databaseUrl: string,
  poolSize = 20,
  timeouts?: DatabaseTimeouts,
): DataSourceOptions {
  const limits = timeouts
    ? {
        Client: DeadlineClient,
        connectionTimeoutMillis: timeouts.connectTimeoutMs,
        query_timeout: timeouts.queryTimeoutMs,
        // The server gives up a moment after we do, instead of finishing work nobody waits for.
        statement_timeout: timeouts.queryTimeoutMs + 1_000,
        // A session left in a transaction by a partitioned client frees its locks in time.
        idle_in_transaction_session_timeout: Math.max(60_000, 3 * timeouts.queryTimeoutMs),
        keepAlive: true,
      }
    : { connectionTimeoutMillis: 5_000 };
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    // Compiled migrations live in dist/migrations beside dist/src.
    migrations: [join(__dirname, '..', '..', 'migrations', '*.js')],
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: false,
    extra: { max: poolSize, ...limits },
  };
}

/**
 * Creates the database named in the URL when the server is there but the database is not, so that
 * `npm start` works on a fresh Postgres. Any other failure is left to the caller.
 */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const probe = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  try {
    await probe.connect();
    return false;
  } catch (e) {
    if ((e as { code?: string }).code !== '3D000') throw e; // 3D000: invalid_catalog_name
  } finally {
    await probe.end().catch(() => undefined);
  }
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (e) {
    if ((e as { code?: string }).code !== '42P04') throw e; // created meanwhile by another process
  } finally {
    await admin.end();
  }
  return true;
}

const MIGRATION_LOCK = 7_461_824_531; // arbitrary, fixed: pg_advisory_lock key for migrations

/**
 * Applies pending migrations (with no statement timeout: DDL on a big table may take long) under a Postgres advisory lock, so processes starting together run
 * them once. Returns the names applied.
 */
export async function runMigrations(databaseUrl: string): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  const ds = new DataSource({
    ...dataSourceOptions(databaseUrl, 2),
    migrationsTransactionMode: 'all',
  });
  await ds.initialize();
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const applied = await ds.runMigrations({ transaction: 'all' });
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await runner.release();
    await ds.destroy();
  }
}
