// The one typed configuration. `loadConfig` reads an environment once; nothing else reads process.env.
import { parseRetrySchedule } from '../dispatch/retry-schedule';
import { createHmac, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { parseCidrs } from '../net/address-guard';

export type Role = 'all' | 'api' | 'worker';

export interface TernConfig {
  nodeEnv: 'development' | 'production' | 'test';
  role: Role;
  port: number;
  host: string;
  databaseUrl: string;
  redisUrl: string;
  /** A Postgres connection within this, or the request answers 503. */
  databaseConnectTimeoutMs: number;
  /** An answer to each Postgres statement within this, or its connection is dropped (503). */
  databaseQueryTimeoutMs: number;
  adminApiKey: string;
  /** True when ADMIN_API_KEY was not set and a random one was made (development only). */
  adminApiKeyGenerated: boolean;
  retrySchedule: number[];
  endpointDisableAfter: number;
  maxPayloadBytes: number;
  maxBatchEvents: number;
  deliveryTimeoutMs: number;
  connectTimeoutMs: number;
  allowedTargetCidrs: string[];
  alertWebhookUrl: string | null;
  alertWebhookSecret: string | null;
  logLevel: string;
  queuePrefix: string;
  /** Sends in flight at once in one worker process. */
  dispatchConcurrency: number;
  /** Sends in flight at once to one endpoint, per worker process. */
  endpointConcurrency: number;
  sweepIntervalMs: number;
  /** How long a claimed delivery stays ours before the sweeper may hand it to another worker. */
  leaseMs: number;
  apiRateLimitPerSecond: number;
  shutdownGraceMs: number;
  /** A worker's own /metrics and /health listener; 0 = none (the API serves its own on PORT). */
  metricsPort: number;
  version: string;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim()))
    throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** pino's levels, the only values LOG_LEVEL may take (pino itself fails later, in 20 lines). */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * A host name or an IP address to listen on. Names as resolvers take them: labels of letters,
 * digits, `-` and `_` (Docker's service names), a trailing dot allowed.
 */
function host(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  const label = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;
  const labels = raw.replace(/\.$/, '').split('.');
  if (isIP(raw) === 0 && (raw.length > 254 || !labels.every((l) => label.test(l)))) {
    throw new ConfigError(`${name} must be a host name or an IP address, got "${raw}"`);
  }
  return raw;
}

function url(env: Env, name: string, fallback: string | null, protocols: string[]): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return raw;
}

function cidrs(env: Env, name: string): string[] {
  const raw = env[name];
  if (!raw) return [];
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const c of list) {
    try {
      parseCidrs([c]);
    } catch {
      throw new ConfigError(`${name} holds "${c}", which is not a CIDR range like 127.0.0.0/8`);
    }
  }
  return list;
}

export function loadConfig(env: Env = process.env, version = '0.0.0'): TernConfig {
  const nodeEnv = (env.NODE_ENV || 'development') as TernConfig['nodeEnv'];
  if (!['development', 'production', 'test'].includes(nodeEnv)) {
    throw new ConfigError(`NODE_ENV must be development, production or test, got "${nodeEnv}"`);
  }
  const role = (env.TERN_ROLE || 'all') as Role;
  if (!['all', 'api', 'worker'].includes(role)) {
    throw new ConfigError(`TERN_ROLE must be all, api or worker, got "${role}"`);
  }
  let adminApiKey = env.ADMIN_API_KEY ?? '';
  let adminApiKeyGenerated = false;
  if (!adminApiKey) {
    if (nodeEnv === 'production')
      throw new ConfigError('ADMIN_API_KEY is required when NODE_ENV=production');
    adminApiKey = `tern_admin_${randomBytes(18).toString('base64url')}`;
    adminApiKeyGenerated = true;
  } else if (adminApiKey.length < 16) {
    throw new ConfigError('ADMIN_API_KEY must be at least 16 characters');
  }
  let retrySchedule: number[];
  try {
    retrySchedule = parseRetrySchedule(env.RETRY_SCHEDULE || '1m,5m,30m,2h');
  } catch (e) {
    throw new ConfigError(`RETRY_SCHEDULE ${(e as Error).message}`);
  }
  const deliveryTimeoutMs = int(env, 'DELIVERY_TIMEOUT_MS', 15_000, 100, 300_000);
  const alertWebhookUrl = url(env, 'ALERT_WEBHOOK_URL', null, ['http:', 'https:']);
  let alertWebhookSecret = env.ALERT_WEBHOOK_SECRET || null;
  if (alertWebhookSecret && !/^whsec_[A-Za-z0-9+/=]{16,}$/.test(alertWebhookSecret)) {
    throw new ConfigError('ALERT_WEBHOOK_SECRET must look like whsec_<base64>');
  }
  if (alertWebhookUrl && !alertWebhookSecret) {
    // Stable and derivable by the operator: HMAC of the admin key, documented in the README.
    alertWebhookSecret =
      'whsec_' + createHmac('sha256', adminApiKey).update('tern-alert-webhook').digest('base64');
  }
  const logLevel = env.LOG_LEVEL || (nodeEnv === 'test' ? 'warn' : 'info');
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  return {
    nodeEnv,
    role,
    port: int(env, 'PORT', 3000, 0, 65535),
    host: host(env, 'HOST', '0.0.0.0'),
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/tern', [
      'postgres:',
      'postgresql:',
    ])!,
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:'])!,
    databaseConnectTimeoutMs: int(env, 'DATABASE_CONNECT_TIMEOUT_MS', 5_000, 100, 300_000),
    databaseQueryTimeoutMs: int(env, 'DATABASE_QUERY_TIMEOUT_MS', 10_000, 100, 3_600_000),
    adminApiKey,
    adminApiKeyGenerated,
    retrySchedule,
    endpointDisableAfter: int(env, 'ENDPOINT_DISABLE_AFTER', 10, 1, 100_000),
    maxPayloadBytes: int(env, 'MAX_PAYLOAD_BYTES', 256 * 1024, 16, 64 * 1024 * 1024),
    maxBatchEvents: 500,
    deliveryTimeoutMs,
    connectTimeoutMs: Math.min(
      deliveryTimeoutMs,
      int(env, 'CONNECT_TIMEOUT_MS', 5_000, 50, 300_000),
    ),
    allowedTargetCidrs: cidrs(env, 'ALLOWED_TARGET_CIDRS'),
    alertWebhookUrl,
    alertWebhookSecret,
    logLevel,
    queuePrefix: env.QUEUE_PREFIX || 'tern',
    dispatchConcurrency: int(env, 'DISPATCH_CONCURRENCY', 512, 1, 10_000),
    endpointConcurrency: int(env, 'ENDPOINT_CONCURRENCY', 16, 1, 1_000),
    sweepIntervalMs: int(env, 'SWEEP_INTERVAL_MS', 5_000, 50, 600_000),
    leaseMs: deliveryTimeoutMs + int(env, 'LEASE_MARGIN_MS', 30_000, 100, 600_000),
    apiRateLimitPerSecond: int(env, 'API_RATE_LIMIT_PER_SECOND', 1000, 1, 1_000_000),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', deliveryTimeoutMs + 5_000, 0, 600_000),
    metricsPort: int(env, 'METRICS_PORT', 0, 0, 65535),
    version,
  };
}

/** Injection token for TernConfig. */
export const TERN_CONFIG = Symbol('TERN_CONFIG');
