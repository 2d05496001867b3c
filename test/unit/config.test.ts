import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config';

const base = { ADMIN_API_KEY: 'a-long-enough-admin-key' };

test('defaults match the contract', () => {
  const c = loadConfig(base);
  assert.equal(c.databaseUrl, 'postgres://postgres@127.0.0.1:5432/tern');
  assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(c.port, 3000);
  assert.deepEqual(c.retrySchedule, [60_000, 300_000, 1_800_000, 7_200_000]);
  assert.equal(c.endpointDisableAfter, 10);
  assert.equal(c.maxPayloadBytes, 256 * 1024);
  assert.equal(c.deliveryTimeoutMs, 15_000);
  assert.deepEqual(c.allowedTargetCidrs, []);
  assert.equal(c.alertWebhookUrl, null);
  assert.equal(c.role, 'all');
});

test('every bad setting is refused with a message naming it', () => {
  const bad: Record<string, string> = {
    PORT: 'eighty',
    DATABASE_URL: 'mysql://x/y',
    REDIS_URL: 'not a url',
    RETRY_SCHEDULE: '1m,soon',
    ENDPOINT_DISABLE_AFTER: '0',
    MAX_PAYLOAD_BYTES: '-5',
    DELIVERY_TIMEOUT_MS: '10',
    ALLOWED_TARGET_CIDRS: '999.0.0.0/8',
    ALERT_WEBHOOK_URL: 'ftp://x',
    NODE_ENV: 'staging',
    TERN_ROLE: 'both',
    ADMIN_API_KEY: 'short',
    LOG_LEVEL: 'loud',
    HOST: 'not a host',
  };
  for (const [name, value] of Object.entries(bad)) {
    assert.throws(
      () => loadConfig({ ...base, [name]: value }),
      (e: Error) => e instanceof ConfigError && e.message.startsWith(name),
      `${name}=${value}`,
    );
  }
});

test('LOG_LEVEL takes pino levels; HOST takes host names and IP addresses', () => {
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    assert.equal(loadConfig({ ...base, LOG_LEVEL: level }).logLevel, level);
  for (const host of [
    'localhost',
    'localhost.',
    '127.0.0.1',
    '::',
    '::1',
    'api.internal',
    'my_service',
    'tern-1',
  ])
    assert.equal(loadConfig({ ...base, HOST: host }).host, host);
  for (const host of ['-x', 'a..b', 'a b', 'a/b', '.', `${'a'.repeat(64)}.com`])
    assert.throws(() => loadConfig({ ...base, HOST: host }), /^ConfigError: HOST|HOST must/);
});

test('ADMIN_API_KEY is required in production, generated in development', () => {
  assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /ADMIN_API_KEY/);
  const dev = loadConfig({});
  assert.equal(dev.adminApiKeyGenerated, true);
  assert.ok(dev.adminApiKey.length >= 16);
});

test('the alert webhook secret defaults to one derived from the admin key', () => {
  const a = loadConfig({ ...base, ALERT_WEBHOOK_URL: 'https://ops.example.com/hook' });
  const b = loadConfig({ ...base, ALERT_WEBHOOK_URL: 'https://ops.example.com/hook' });
  assert.match(a.alertWebhookSecret!, /^whsec_/);
  assert.equal(a.alertWebhookSecret, b.alertWebhookSecret);
});

test('a process started with a bad setting stops at once with one line naming it', () => {
  const main = join(__dirname, '..', '..', 'src', 'main.js');
  const r = spawnSync(process.execPath, [main], {
    env: { ...process.env, ...base, RETRY_SCHEDULE: 'often' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0], /RETRY_SCHEDULE/);
  // pino refused an unknown level itself, after Nest's start-up log: some 20 lines.
  const level = spawnSync(process.execPath, [main], {
    env: { ...process.env, ...base, LOG_LEVEL: 'loud' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(level.status, 1);
  assert.deepEqual(level.stdout, '');
  assert.match(level.stderr, /^tern: bad setting: LOG_LEVEL .*\n$/);
});
