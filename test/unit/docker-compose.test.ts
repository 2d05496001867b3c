// docker-compose.yml cannot be run here (no Docker engine), so it is read: it must parse, and say
// what the README says it does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load, YAML11_SCHEMA } from 'js-yaml';

const root = join(__dirname, '..', '..', '..');
// YAML 1.1, as Compose reads it: the worker's environment is the API's merged in with `<<`.
const compose = load(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), {
  schema: YAML11_SCHEMA,
}) as {
  services: Record<
    string,
    {
      command?: string[];
      environment?: Record<string, string>;
      ports?: string[];
      depends_on?: Record<string, { condition: string }>;
      volumes?: string[];
    }
  >;
  volumes: Record<string, unknown>;
};
const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<
  string,
  string
>;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

test('docker-compose: Postgres with a volume, Redis append-only with noeviction, the API on 3000 and a worker', () => {
  const { postgres, redis, api, worker } = compose.services;
  assert.ok(postgres && redis && api && worker, Object.keys(compose.services).join());
  assert.ok(postgres.volumes?.some((v) => v.endsWith(':/var/lib/postgresql/data')));
  assert.deepEqual(redis.command, [
    'redis-server',
    '--appendonly',
    'yes',
    '--maxmemory-policy',
    'noeviction',
  ]);
  assert.deepEqual(api.ports, ['3000:3000']);
  assert.equal(api.environment?.TERN_ROLE, 'api');
  assert.equal(worker.environment?.TERN_ROLE, 'worker');
  for (const s of [api, worker]) {
    assert.match(s.environment!.DATABASE_URL, /@postgres:5432\/tern$/);
    assert.equal(s.environment!.REDIS_URL, 'redis://redis:6379');
    assert.equal(s.environment!.NODE_ENV, 'production');
    assert.match(
      s.environment!.ADMIN_API_KEY,
      /^\$\{ADMIN_API_KEY:\?/,
      'ADMIN_API_KEY is required',
    );
    assert.deepEqual(s.depends_on, {
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
  }
  assert.deepEqual(Object.keys(compose.volumes).sort(), ['pgdata', 'redisdata']);
});

test('docker-compose, Dockerfile and npm scripts start Tern with the same node flags', () => {
  const command = (script: string) => script.replace(/^TERN_ROLE=\w+ /, '').split(' ');
  assert.deepEqual(compose.services.api.command, command(scripts['start:api']));
  assert.deepEqual(compose.services.worker.command, command(scripts['start:worker']));
  assert.deepEqual(command(scripts.start), command(scripts['start:api']));
  assert.ok(
    dockerfile.includes(`CMD ${JSON.stringify(command(scripts.start))}`.replace(/","/g, '", "')),
    'the image starts like npm start',
  );
});
