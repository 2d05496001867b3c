// Service routes: liveness, readiness (and 503 when Redis is unreachable), and the Prometheus
// endpoint with Tern's own metrics, driven through MetricsService.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RunningTern, startTern } from '../support/harness';
import { LogRows } from '../support/log-rows';
import { MetricsService, STATUS_COUNT_TTL_MS } from '../../src/metrics/metrics.service';

let t: RunningTern;
let rows: LogRows;

before(async () => {
  // API role only: the rows this file inserts by hand must not be dispatched.
  t = await startTern({ TERN_ROLE: 'api' });
  rows = await LogRows.connect(t.databaseUrl);
  // A few deliveries, so tern_deliveries_by_status has something to count on the first scrape.
  await rows.tenant('acme');
  await rows.eventType('order.completed');
  const at = new Date();
  const ep = await rows.endpoint('acme', at);
  const ev = await rows.event('acme', 'order.completed', at);
  for (const status of ['succeeded', 'succeeded', 'failed', 'pending']) {
    await rows.delivery({
      tenantId: 'acme',
      eventId: ev,
      endpointId: ep,
      eventType: 'order.completed',
      status,
      createdAt: at,
    });
  }
});

after(async () => {
  await rows?.close();
  await t?.close();
});

/** The value of one sample line (`name{labels} value`) in a text exposition. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

test('GET /health is 200 {status: ok} without a key', async () => {
  const res = await t.api.as(null).get('/health');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { status: 'ok' });
});

test('GET /health/ready is 200 when Postgres and Redis answer', async () => {
  const res = await t.api.as(null).get('/health/ready');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.status, 'ok');
  assert.deepEqual(res.body.info, { postgres: { status: 'up' }, redis: { status: 'up' } });
  assert.deepEqual(res.body.error, {});
});

test('GET /metrics lists every Tern metric and the process defaults, without a key', async () => {
  const text = await scrape(t.url);
  for (const name of [
    'tern_events_accepted_total',
    'tern_deliveries_total',
    'tern_delivery_attempt_duration_seconds',
    'tern_queue_jobs',
    'tern_sweeper_reenqueued_total',
    'tern_endpoints_disabled_total',
    'tern_deliveries_by_status',
    'process_cpu_user_seconds_total',
    'nodejs_eventloop_lag_seconds',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  for (const outcome of ['succeeded', 'failed', 'retry', 'cancelled'])
    assert.equal(sample(text, `tern_deliveries_total{outcome="${outcome}"}`), 0);
  assert.match(
    text,
    /tern_delivery_attempt_duration_seconds_bucket\{le="0.005",result="success"\} 0/,
  );
  assert.match(text, /tern_delivery_attempt_duration_seconds_bucket\{le="30",result="failure"\} 0/);
  // Counted from the deliveries table.
  assert.equal(sample(text, 'tern_deliveries_by_status{status="succeeded"}'), 2);
  assert.equal(sample(text, 'tern_deliveries_by_status{status="failed"}'), 1);
  assert.equal(sample(text, 'tern_deliveries_by_status{status="pending"}'), 1);
  assert.equal(sample(text, 'tern_deliveries_by_status{status="paused"}'), 0);
  // The delivery queue registers its depth: read from Redis on every scrape.
  assert.equal(typeof sample(text, 'tern_queue_jobs{state="waiting"}'), 'number');
  assert.ok(sample(text, 'tern_queue_jobs{state="delayed"}')! >= 0);
});

test('metric values follow the MetricsService calls', async () => {
  const metrics = t.app.get(MetricsService);
  const before = await scrape(t.url);
  const accepted = sample(before, 'tern_events_accepted_total')!;

  metrics.eventAccepted();
  metrics.eventAccepted(3);
  metrics.deliveryOutcome('succeeded');
  metrics.deliveryOutcome('retry', 2);
  metrics.attemptDuration('success', 0.004);
  metrics.attemptDuration('failure', 12);
  metrics.sweeperReenqueued(4);
  metrics.sweeperReenqueued(0);
  metrics.endpointDisabled();
  metrics.setQueueDepthSource(async () => ({ waiting: 7, delayed: 2, active: 1 }));

  const text = await scrape(t.url);
  assert.equal(sample(text, 'tern_events_accepted_total'), accepted + 4);
  assert.equal(sample(text, 'tern_deliveries_total{outcome="succeeded"}'), 1);
  assert.equal(sample(text, 'tern_deliveries_total{outcome="retry"}'), 2);
  assert.equal(sample(text, 'tern_deliveries_total{outcome="failed"}'), 0);
  assert.equal(
    sample(text, 'tern_delivery_attempt_duration_seconds_bucket{le="0.005",result="success"}'),
    1,
  );
  assert.equal(
    sample(text, 'tern_delivery_attempt_duration_seconds_bucket{le="10",result="failure"}'),
    0,
  );
  assert.equal(
    sample(text, 'tern_delivery_attempt_duration_seconds_bucket{le="15",result="failure"}'),
    1,
  );
  assert.equal(sample(text, 'tern_delivery_attempt_duration_seconds_count{result="failure"}'), 1);
  assert.equal(sample(text, 'tern_sweeper_reenqueued_total'), 4);
  assert.equal(sample(text, 'tern_endpoints_disabled_total'), 1);
  assert.equal(sample(text, 'tern_queue_jobs{state="waiting"}'), 7);
  assert.equal(sample(text, 'tern_queue_jobs{state="delayed"}'), 2);
  assert.equal(sample(text, 'tern_queue_jobs{state="active"}'), 1);

  // A failing source drops the series; the scrape still answers.
  metrics.setQueueDepthSource(async () => {
    throw new Error('redis is away');
  });
  const failing = await scrape(t.url);
  assert.equal(sample(failing, 'tern_queue_jobs{state="waiting"}'), undefined);
  assert.equal(sample(failing, 'tern_events_accepted_total'), accepted + 4);
});

test('delivery status counts are cached between scrapes, then refreshed', async () => {
  const metrics = t.app.get(MetricsService);
  let queries = 0;
  metrics.setDeliveryStatusCountSource(async () => {
    queries++;
    return { succeeded: 10 * queries };
  });
  const first = await scrape(t.url);
  const second = await scrape(t.url);
  assert.equal(queries, 1, 'two scrapes in a row run one query');
  assert.equal(sample(first, 'tern_deliveries_by_status{status="succeeded"}'), 10);
  assert.equal(sample(second, 'tern_deliveries_by_status{status="succeeded"}'), 10);
  assert.equal(sample(second, 'tern_deliveries_by_status{status="failed"}'), 0);
  await new Promise((r) => setTimeout(r, STATUS_COUNT_TTL_MS + 100));
  const third = await scrape(t.url);
  assert.equal(queries, 2, 'a scrape after the cache expired runs the query again');
  assert.equal(sample(third, 'tern_deliveries_by_status{status="succeeded"}'), 20);
});

test('a second app in the same process has its own registry; its readiness is 503 without Redis', async () => {
  const broken = await startTern(
    { REDIS_URL: 'redis://127.0.0.1:1', TERN_ROLE: 'api' },
    t.databaseUrl,
  );
  try {
    const live = await broken.api.as(null).get('/health');
    assert.equal(live.status, 200);
    assert.deepEqual(live.body, { status: 'ok' });

    const started = Date.now();
    const ready = await broken.api.as(null).get('/health/ready');
    assert.ok(Date.now() - started < 3_000, 'the probe answers quickly');
    assert.equal(ready.status, 503, JSON.stringify(ready.body));
    assert.equal(ready.body.status, 'error');
    assert.deepEqual(ready.body.info, { postgres: { status: 'up' } });
    assert.equal(ready.body.error.redis.status, 'down');
    assert.equal(typeof ready.body.error.redis.message, 'string');
    assert.notEqual(ready.body.error.redis.connection, 'ready');
    assert.deepEqual(ready.body.details.postgres, { status: 'up' });
    // Still down on the next probe (ioredis is reconnecting in the background, nothing queues).
    assert.equal((await broken.api.as(null).get('/health/ready')).status, 503);

    broken.app.get(MetricsService).eventAccepted(100);
    const mine = await scrape(t.url);
    const theirs = await scrape(broken.url);
    assert.equal(sample(theirs, 'tern_events_accepted_total'), 100);
    assert.ok(sample(mine, 'tern_events_accepted_total')! < 100);
  } finally {
    await broken.close();
  }
  // The first app is unaffected.
  assert.equal((await t.api.as(null).get('/health/ready')).status, 200);
});

test('/docs-json documents the service routes, the delivery log and alerts', async () => {
  const res = await t.api.as(null).get('/docs-json');
  assert.equal(res.status, 200);
  const paths = Object.keys(res.body.paths);
  for (const path of [
    '/health',
    '/health/ready',
    '/metrics',
    '/v1/tenants/{tenantId}/deliveries',
    '/v1/tenants/{tenantId}/deliveries/{deliveryId}',
    '/v1/deliveries',
    '/v1/deliveries/{deliveryId}',
    '/v1/tenants/{tenantId}/alerts',
  ]) {
    assert.ok(paths.includes(path), `${path} in ${paths.join(', ')}`);
  }
  const list = res.body.paths['/v1/tenants/{tenantId}/deliveries'].get;
  const params = list.parameters.map((p: { name: string }) => p.name).sort();
  assert.deepEqual(params, [
    'cursor',
    'endpointId',
    'eventId',
    'eventType',
    'limit',
    'since',
    'status',
    'tenantId',
    'until',
  ]);
  assert.ok(res.body.components.schemas.DeliveryDetailResponse.properties.attempts);
});
