// The delivery log and alerts over HTTP, on rows inserted straight into the database: every filter
// and combinations, since/until bounds, tenant isolation, keyset pages that stay stable while new
// deliveries arrive, the detail with its attempts, and 400s that name the bad field.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, ApiResponse, startTern, RunningTern } from '../support/harness';
import { DeliveryRowInput, LogRows, idAt } from '../support/log-rows';
import { DeliveriesService } from '../../src/deliveries/deliveries.service';

interface Row extends DeliveryRowInput {
  id: string;
}

const BASE = Date.parse('2025-03-01T00:00:00Z');
const HOUR = 3_600_000;
const TYPES = ['order.completed', 'order.refunded', 'customer.created'];
const STATUS_CYCLE = [
  'succeeded',
  'failed',
  'pending',
  'succeeded',
  'sending',
  'paused',
  'cancelled',
  'succeeded',
  'failed',
];

let t: RunningTern;
let rows: LogRows;
let keyA: string;
let keyB: string;
const fixture: Row[] = [];
const eps: Record<string, string> = {};
const events: string[] = [];
/** An event whose two deliveries have ids of their own, not made from the event's (legacy rows). */
let legacyEvent: string;

/** Ids newest first, as every list answers. */
const newestFirst = (list: Row[]) =>
  list
    .map((r) => r.id)
    .sort()
    .reverse();

/** Follows nextCursor to the end; returns every id in order. */
async function collect(api: Api, path: string, limit = 4): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  const sep = path.includes('?') ? '&' : '?';
  for (let pages = 0; pages < 100; pages++) {
    const res: ApiResponse = await api.get(
      `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    assert.ok(res.body.data.length <= limit);
    ids.push(...res.body.data.map((d: { id: string }) => d.id));
    cursor = res.body.nextCursor;
    if (!cursor) return ids;
  }
  throw new Error('more than 100 pages');
}

async function add(r: DeliveryRowInput): Promise<Row> {
  const row = { ...r, id: await rows.delivery(r) };
  fixture.push(row);
  return row;
}

before(async () => {
  // API role only: the rows this file inserts by hand must not be dispatched.
  t = await startTern({ TERN_ROLE: 'api' });
  rows = await LogRows.connect(t.databaseUrl);
  for (const id of ['acme', 'globex', 'initech']) await rows.tenant(id);
  keyA = await rows.apiKey('acme');
  keyB = await rows.apiKey('globex');
  for (const type of TYPES) await rows.eventType(type);
  eps.a1 = await rows.endpoint('acme', new Date(BASE - 48 * HOUR), ['order.*']);
  eps.a2 = await rows.endpoint('acme', new Date(BASE - 47 * HOUR), ['*']);
  eps.b1 = await rows.endpoint('globex', new Date(BASE - 46 * HOUR), ['*']);
  eps.c1 = await rows.endpoint('initech', new Date(BASE - 45 * HOUR), ['*']);

  // acme: 12 events an hour apart, each to a1, every other one to a2 as well.
  let k = 0;
  for (let i = 0; i < 12; i++) {
    const at = BASE + i * HOUR;
    const type = TYPES[i % 3];
    const eventId = await rows.event('acme', type, new Date(at));
    events.push(eventId);
    for (const [endpoint, offset] of i % 2 === 0
      ? ([
          [eps.a1, 1000],
          [eps.a2, 2000],
        ] as const)
      : ([[eps.a1, 1000]] as const)) {
      const status = STATUS_CYCLE[k++ % STATUS_CYCLE.length];
      await add({
        tenantId: 'acme',
        eventId,
        endpointId: endpoint,
        eventType: type,
        status,
        attempts: status === 'failed' ? 5 : status === 'succeeded' ? 1 : 0,
        nextAttemptAt: status === 'pending' || status === 'sending' ? new Date(at + HOUR) : null,
        lastStatusCode: status === 'failed' ? 500 : status === 'succeeded' ? 200 : null,
        lastError: status === 'failed' ? 'HTTP 500' : null,
        createdAt: new Date(at + offset),
      });
    }
  }
  // Two deliveries whose id time and created_at disagree by 20-30 s (clocks of the API process and
  // Postgres), straddling 05:00: created_at is what since/until compare.
  const skewEvent = await rows.event('acme', 'order.completed', new Date(BASE + 5 * HOUR - 60_000));
  legacyEvent = skewEvent;
  for (const [idMs, createdMs] of [
    [BASE + 5 * HOUR - 20_000, BASE + 5 * HOUR + 10_000],
    [BASE + 5 * HOUR + 20_000, BASE + 5 * HOUR - 10_000],
  ]) {
    await add({
      id: idAt('dlv', idMs),
      tenantId: 'acme',
      eventId: skewEvent,
      endpointId: eps.a1,
      eventType: 'order.completed',
      status: 'succeeded',
      createdAt: new Date(createdMs),
    });
  }
  // globex: 3 events on the half hours.
  for (let i = 0; i < 3; i++) {
    const at = BASE + i * HOUR + HOUR / 2;
    const eventId = await rows.event('globex', 'order.completed', new Date(at));
    await add({
      tenantId: 'globex',
      eventId,
      endpointId: eps.b1,
      eventType: 'order.completed',
      status: ['failed', 'succeeded', 'pending'][i],
      createdAt: new Date(at + 500),
    });
  }
  // initech: 10 recent deliveries, for the pagination-under-writes test.
  const now = Date.now();
  for (let i = 0; i < 10; i++) {
    const at = now - 600_000 + i * 1000;
    const eventId = await rows.event('initech', 'order.completed', new Date(at));
    await add({
      tenantId: 'initech',
      eventId,
      endpointId: eps.c1,
      eventType: 'order.completed',
      status: 'succeeded',
      createdAt: new Date(at + 10),
    });
  }
});

after(async () => {
  await rows?.close();
  await t?.close();
});

const acme = () => fixture.filter((r) => r.tenantId === 'acme');

describe('tenant delivery log filters', () => {
  const cases: [string, (r: Row) => boolean][] = [
    ['', () => true],
    ['status=failed', (r) => r.status === 'failed'],
    ['status=failed,pending', (r) => r.status === 'failed' || r.status === 'pending'],
    ['status=failed&status=paused', (r) => r.status === 'failed' || r.status === 'paused'],
    ['status=succeeded, sending ,succeeded', (r) => ['succeeded', 'sending'].includes(r.status)],
    ['eventType=order.refunded', (r) => r.eventType === 'order.refunded'],
    ['eventType=no.such.type', () => false],
    // The type's events walked newest first, each event's deliveries by their id range, merged
    // with the two rows whose ids are not their event's (as written before ids came from events).
    ['eventType=order.completed', (r) => r.eventType === 'order.completed'],
    [
      `eventType=order.completed&since=${new Date(BASE + 3 * HOUR).toISOString()}` +
        `&until=${new Date(BASE + 9 * HOUR + 1000).toISOString()}`,
      (r) =>
        r.eventType === 'order.completed' &&
        r.createdAt.getTime() >= BASE + 3 * HOUR &&
        r.createdAt.getTime() < BASE + 9 * HOUR + 1000,
    ],
    [
      'status=succeeded&eventType=order.completed',
      (r) => r.status === 'succeeded' && r.eventType === 'order.completed',
    ],
  ];
  for (const [qs, pred] of cases) {
    test(`?${qs || '(no filter)'}`, async () => {
      const got = await collect(new Api(t.url, keyA), `/v1/tenants/acme/deliveries?${qs}`, 3);
      assert.deepEqual(got, newestFirst(acme().filter(pred)));
    });
  }

  test('endpointId, alone and with status and eventType', async () => {
    const api = new Api(t.url, keyA);
    assert.deepEqual(
      await collect(api, `/v1/tenants/acme/deliveries?endpointId=${eps.a2}`),
      newestFirst(acme().filter((r) => r.endpointId === eps.a2)),
    );
    assert.deepEqual(
      await collect(
        api,
        `/v1/tenants/acme/deliveries?endpointId=${eps.a1}&status=failed,succeeded`,
      ),
      newestFirst(
        acme().filter((r) => r.endpointId === eps.a1 && ['failed', 'succeeded'].includes(r.status)),
      ),
    );
    assert.deepEqual(
      await collect(
        api,
        `/v1/tenants/acme/deliveries?endpointId=${eps.a1}&eventType=order.completed&status=succeeded`,
      ),
      newestFirst(
        acme().filter(
          (r) =>
            r.endpointId === eps.a1 &&
            r.eventType === 'order.completed' &&
            r.status === 'succeeded',
        ),
      ),
    );
    // Another tenant's endpoint simply matches nothing here.
    assert.deepEqual(await collect(api, `/v1/tenants/acme/deliveries?endpointId=${eps.b1}`), []);
  });

  test('eventId, alone and with endpointId', async () => {
    const api = new Api(t.url, keyA);
    const ev = events[4];
    const got = await collect(api, `/v1/tenants/acme/deliveries?eventId=${ev}`);
    assert.equal(got.length, 2);
    assert.deepEqual(got, newestFirst(acme().filter((r) => r.eventId === ev)));
    assert.deepEqual(
      await collect(api, `/v1/tenants/acme/deliveries?eventId=${ev}&endpointId=${eps.a2}`),
      newestFirst(acme().filter((r) => r.eventId === ev && r.endpointId === eps.a2)),
    );
    const legacy = await collect(api, `/v1/tenants/acme/deliveries?eventId=${legacyEvent}`);
    assert.equal(legacy.length, 2);
    assert.deepEqual(legacy, newestFirst(acme().filter((r) => r.eventId === legacyEvent)));
  });

  test('since is inclusive and until exclusive, on createdAt', async () => {
    const api = new Api(t.url, keyA);
    const sorted = [...acme()].sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
    const since = sorted[5].createdAt;
    const until = sorted[11].createdAt;
    const inWindow = (r: Row) =>
      r.createdAt.getTime() >= since.getTime() && r.createdAt.getTime() < until.getTime();

    const both = await collect(
      api,
      `/v1/tenants/acme/deliveries?since=${since.toISOString()}&until=${until.toISOString()}`,
      2,
    );
    assert.deepEqual(both, newestFirst(acme().filter(inWindow)));
    assert.ok(both.includes(sorted[5].id), 'a delivery created exactly at since is included');
    assert.ok(!both.includes(sorted[11].id), 'a delivery created exactly at until is excluded');

    assert.deepEqual(
      await collect(api, `/v1/tenants/acme/deliveries?since=${since.toISOString()}`),
      newestFirst(acme().filter((r) => r.createdAt.getTime() >= since.getTime())),
    );
    assert.deepEqual(
      await collect(api, `/v1/tenants/acme/deliveries?until=${until.toISOString()}`),
      newestFirst(acme().filter((r) => r.createdAt.getTime() < until.getTime())),
    );
    // An offset is honoured: 05:00+02:00 is 03:00Z, so events 3.. (their deliveries come 1-2 s later).
    assert.deepEqual(
      await collect(
        api,
        `/v1/tenants/acme/deliveries?since=2025-03-01T05:00:00%2B02:00&status=failed`,
      ),
      newestFirst(
        acme().filter((r) => r.createdAt.getTime() >= BASE + 3 * HOUR && r.status === 'failed'),
      ),
    );
    // A date alone is midnight UTC.
    assert.deepEqual(await collect(api, `/v1/tenants/acme/deliveries?until=2025-03-01`), []);
  });

  test('since/until compare createdAt even when the id time is off by a few seconds', async () => {
    const api = new Api(t.url, keyA);
    const edge = new Date(BASE + 5 * HOUR).toISOString();
    const skewed = acme().filter(
      (r) => Math.abs(r.createdAt.getTime() - (BASE + 5 * HOUR)) === 10_000,
    );
    assert.equal(skewed.length, 2);
    const [after, before] = skewed.sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime());
    const since = await collect(api, `/v1/tenants/acme/deliveries?since=${edge}`, 50);
    assert.ok(since.includes(after.id) && !since.includes(before.id));
    const until = await collect(api, `/v1/tenants/acme/deliveries?until=${edge}`, 50);
    assert.ok(until.includes(before.id) && !until.includes(after.id));
    assert.deepEqual(
      since,
      newestFirst(acme().filter((r) => r.createdAt.getTime() >= BASE + 5 * HOUR)),
    );
  });

  test('every filter at once', async () => {
    const api = new Api(t.url, keyA);
    const qs =
      `status=succeeded,failed&eventType=order.completed&endpointId=${eps.a1}` +
      `&since=${new Date(BASE + 2 * HOUR).toISOString()}&until=${new Date(BASE + 10 * HOUR).toISOString()}`;
    const expected = newestFirst(
      acme().filter(
        (r) =>
          ['succeeded', 'failed'].includes(r.status) &&
          r.eventType === 'order.completed' &&
          r.endpointId === eps.a1 &&
          r.createdAt.getTime() >= BASE + 2 * HOUR &&
          r.createdAt.getTime() < BASE + 10 * HOUR,
      ),
    );
    assert.ok(expected.length > 0);
    assert.deepEqual(await collect(api, `/v1/tenants/acme/deliveries?${qs}`, 1), expected);
  });

  test('list items carry the documented fields and nothing internal', async () => {
    const res = await t.api.get('/v1/tenants/acme/deliveries?status=pending&limit=1');
    assert.equal(res.status, 200);
    const item = res.body.data[0];
    const row = acme()
      .filter((r) => r.status === 'pending')
      .sort((x, y) => (x.id < y.id ? 1 : -1))[0];
    assert.deepEqual(item, {
      id: row.id,
      tenantId: 'acme',
      eventId: row.eventId,
      endpointId: row.endpointId,
      eventType: row.eventType,
      status: 'pending',
      attemptCount: 0,
      nextAttemptAt: row.nextAttemptAt!.toISOString(),
      lastStatusCode: null,
      lastError: null,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.createdAt.toISOString(),
    });
    assert.equal(typeof res.body.nextCursor, 'string');
  });
});

describe('bad filter values answer 400 naming the field', () => {
  const bad: [string, string][] = [
    ['status=bogus', 'status'],
    ['status=failed,bogus', 'status'],
    ['status=,', 'status'], // a list of no statuses (an empty value is no filter: odd-input)
    ['since=yesterday', 'since'],
    ['since=2025-03-01T10:00:00', 'since'], // no zone
    ['until=2025-13-01T00:00:00Z', 'until'],
    ['until=1735689600', 'until'],
    ['since=2025-03-02T00:00:00Z&until=2025-03-01T00:00:00Z', 'until'],
    ['since=2025-03-01T00:00:00Z&until=2025-03-01T00:00:00Z', 'until'],
    ['endpointId=not-an-endpoint', 'endpointId'],
    ['eventId=dlv_0123', 'eventId'],
    ['limit=0', 'limit'],
    ['limit=251', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=garbage', 'cursor'],
    ['tenantId=globex', 'tenantId'], // not a filter of the tenant route
    ['colour=blue', 'colour'],
  ];
  for (const [qs, field] of bad) {
    test(`?${qs} -> ${field}`, async () => {
      const res = await t.api.get(`/v1/tenants/acme/deliveries?${qs}`);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.statusCode, 400);
      assert.equal(res.body.error, 'Bad Request');
      assert.ok(
        res.body.details.some((d: { field: string }) => d.field === field),
        JSON.stringify(res.body),
      );
    });
  }

  test('the admin log validates the same way, and its tenantId too', async () => {
    for (const [qs, field] of [
      ['status=lost', 'status'],
      ['tenantId=bad%20id', 'tenantId'],
      ['since=soon', 'since'],
    ]) {
      const res = await t.api.get(`/v1/deliveries?${qs}`);
      assert.equal(res.status, 400);
      assert.ok(res.body.details.some((d: { field: string }) => d.field === field));
    }
  });
});

describe('delivery detail', () => {
  test('every attempt in order, with the first 4 KiB of each response body', async () => {
    const d = acme().find((r) => r.status === 'failed')!;
    const start = d.createdAt.getTime();
    // Inserted out of order on purpose.
    const a3 = await rows.attempt(d.id, 3, new Date(start + 60_000), {
      statusCode: 500,
      responseBody: 'still broken',
    });
    const a1 = await rows.attempt(d.id, 1, new Date(start), { error: 'connect ECONNREFUSED' });
    const long = 'x'.repeat(4095) + 'é' + 'y'.repeat(1000); // é straddles byte 4096
    const a2 = await rows.attempt(d.id, 2, new Date(start + 1_000), {
      statusCode: 503,
      responseBody: long,
    });

    for (const [api, path] of [
      [new Api(t.url, keyA), `/v1/tenants/acme/deliveries/${d.id}`],
      [t.api, `/v1/tenants/acme/deliveries/${d.id}`],
      [t.api, `/v1/deliveries/${d.id}`],
    ] as const) {
      const res = await api.get(path);
      assert.equal(res.status, 200, path);
      const body = res.body;
      assert.equal(body.id, d.id);
      assert.equal(body.tenantId, 'acme');
      assert.equal(body.eventId, d.eventId);
      assert.equal(body.endpointId, d.endpointId);
      assert.equal(body.eventType, d.eventType);
      assert.equal(body.status, 'failed');
      assert.equal(body.attemptCount, 5);
      assert.equal(body.nextAttemptAt, null);
      assert.equal(body.lastStatusCode, 500);
      assert.equal(body.lastError, 'HTTP 500');
      assert.equal(body.createdAt, d.createdAt.toISOString());
      assert.equal(typeof body.updatedAt, 'string');
      assert.deepEqual(
        body.attempts.map((a: { id: string; attempt: number }) => [a.attempt, a.id]),
        [
          [1, a1],
          [2, a2],
          [3, a3],
        ],
      );
      assert.deepEqual(body.attempts[0], {
        id: a1,
        attempt: 1,
        startedAt: new Date(start).toISOString(),
        durationMs: 41,
        statusCode: null,
        responseBody: null,
        error: 'connect ECONNREFUSED',
      });
      assert.equal(body.attempts[1].responseBody, 'x'.repeat(4095));
      assert.ok(Buffer.byteLength(body.attempts[1].responseBody) <= 4096);
      assert.equal(body.attempts[2].responseBody, 'still broken');
      assert.deepEqual(Object.keys(body).sort(), [
        'attemptCount',
        'attempts',
        'createdAt',
        'endpointId',
        'eventId',
        'eventType',
        'id',
        'lastError',
        'lastStatusCode',
        'nextAttemptAt',
        'status',
        'tenantId',
        'updatedAt',
      ]);
    }
  });

  test('a delivery without attempts has an empty list; unknown ids are 404', async () => {
    const d = acme().find((r) => r.status === 'pending')!;
    const res = await t.api.get(`/v1/tenants/acme/deliveries/${d.id}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.attempts, []);
    assert.equal(res.body.nextAttemptAt, d.nextAttemptAt!.toISOString());
    assert.equal((await t.api.get('/v1/tenants/acme/deliveries/dlv_nope')).status, 404);
    assert.equal((await t.api.get('/v1/deliveries/dlv_nope')).status, 404);
    assert.equal((await t.api.get(`/v1/tenants/nobody/deliveries/${d.id}`)).status, 404);
  });

  test('listForEvent gives the event deliveries, scoped to the tenant', async () => {
    const service = t.app.get(DeliveriesService);
    const ev = events[0];
    const list = await service.listForEvent('acme', ev);
    assert.deepEqual(
      list.map((d) => d.id),
      newestFirst(fixture.filter((r) => r.eventId === ev)),
    );
    assert.equal(list.length, 2);
    assert.equal(list[0].tenantId, 'acme');
    assert.ok(!('attempts' in list[0]));
    assert.deepEqual(await service.listForEvent('globex', ev), []);
    assert.deepEqual(
      (await service.listForEvent('acme', legacyEvent)).map((d) => d.id),
      newestFirst(fixture.filter((r) => r.eventId === legacyEvent)),
      'rows whose ids are not made from the event are found too',
    );
  });
});

describe('tenant isolation', () => {
  test('a tenant key sees only its own deliveries', async () => {
    const a = new Api(t.url, keyA);
    const bDelivery = fixture.find((r) => r.tenantId === 'globex')!;
    const aDelivery = acme()[0];
    assert.equal((await a.get('/v1/tenants/globex/deliveries')).status, 404);
    assert.equal((await a.get(`/v1/tenants/globex/deliveries/${bDelivery.id}`)).status, 404);
    assert.equal((await a.get(`/v1/tenants/acme/deliveries/${bDelivery.id}`)).status, 404);
    assert.equal((await t.api.get(`/v1/tenants/acme/deliveries/${bDelivery.id}`)).status, 404);
    // The operator's routes do not exist for tenant keys.
    assert.equal((await a.get('/v1/deliveries')).status, 404);
    assert.equal((await a.get('/v1/deliveries?tenantId=acme')).status, 404);
    assert.equal((await a.get(`/v1/deliveries/${aDelivery.id}`)).status, 404);
    const b = new Api(t.url, keyB);
    assert.deepEqual(
      await collect(b, '/v1/tenants/globex/deliveries'),
      newestFirst(fixture.filter((r) => r.tenantId === 'globex')),
    );
    assert.equal((await t.api.as(null).get('/v1/tenants/acme/deliveries')).status, 401);
    assert.equal((await t.api.as('tern_key_nope').get('/v1/deliveries')).status, 401);
    assert.equal((await t.api.get('/v1/tenants/nobody/deliveries')).status, 404);
  });
});

describe('admin log across tenants', () => {
  test('everything, newest first, and each filter', async () => {
    assert.deepEqual(await collect(t.api, '/v1/deliveries', 7), newestFirst(fixture));
    assert.deepEqual(
      await collect(t.api, '/v1/deliveries?tenantId=globex'),
      newestFirst(fixture.filter((r) => r.tenantId === 'globex')),
    );
    assert.deepEqual(
      await collect(t.api, '/v1/deliveries?status=failed'),
      newestFirst(fixture.filter((r) => r.status === 'failed')),
    );
    // Pending and sending rows across tenants come from the due index (not in the unsettled one).
    for (const status of ['pending', 'sending', 'pending,sending,paused'])
      assert.deepEqual(
        await collect(t.api, `/v1/deliveries?status=${status}`),
        newestFirst(fixture.filter((r) => status.split(',').includes(r.status))),
        status,
      );
    assert.deepEqual(
      await collect(t.api, '/v1/deliveries?status=pending,failed&tenantId=acme'),
      newestFirst(acme().filter((r) => ['pending', 'failed'].includes(r.status))),
    );
    assert.deepEqual(
      await collect(t.api, '/v1/deliveries?eventType=order.completed&status=succeeded'),
      newestFirst(
        fixture.filter((r) => r.eventType === 'order.completed' && r.status === 'succeeded'),
      ),
    );
    assert.deepEqual(
      await collect(t.api, `/v1/deliveries?endpointId=${eps.b1}`),
      newestFirst(fixture.filter((r) => r.endpointId === eps.b1)),
    );
    assert.deepEqual(
      await collect(t.api, `/v1/deliveries?eventId=${events[3]}`),
      newestFirst(fixture.filter((r) => r.eventId === events[3])),
    );
    const since = new Date(BASE + HOUR).toISOString();
    const until = new Date(BASE + 2 * HOUR).toISOString();
    assert.deepEqual(
      await collect(t.api, `/v1/deliveries?since=${since}&until=${until}`),
      newestFirst(
        fixture.filter(
          (r) => r.createdAt.getTime() >= BASE + HOUR && r.createdAt.getTime() < BASE + 2 * HOUR,
        ),
      ),
    );
    assert.deepEqual(await collect(t.api, '/v1/deliveries?tenantId=nobody'), []);
  });
});

describe('pagination', () => {
  test('pages stay stable while new deliveries arrive between them', async () => {
    const api = t.api;
    const before = newestFirst(fixture.filter((r) => r.tenantId === 'initech'));
    const seen: string[] = [];
    let cursor: string | null = null;
    let inserted = 0;
    do {
      const res: ApiResponse = await api.get(
        `/v1/tenants/initech/deliveries?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(res.status, 200);
      seen.push(...res.body.data.map((d: { id: string }) => d.id));
      cursor = res.body.nextCursor;
      // Newer deliveries land between pages, as they would in production.
      for (let i = 0; i < 2; i++) {
        const eventId = await rows.event('initech', 'order.completed', new Date());
        await add({
          tenantId: 'initech',
          eventId,
          endpointId: eps.c1,
          eventType: 'order.completed',
          status: 'pending',
          createdAt: new Date(),
        });
        inserted++;
      }
    } while (cursor);
    assert.deepEqual(seen, before, 'no duplicates, no gaps, same order');
    assert.equal(new Set(seen).size, seen.length);
    assert.ok(inserted >= 8);

    // A fresh first page shows the new ones on top.
    const fresh = await api.get(`/v1/tenants/initech/deliveries?limit=250`);
    assert.equal(fresh.body.data.length, 10 + inserted);
    assert.deepEqual(
      fresh.body.data.map((d: { id: string }) => d.id),
      newestFirst(fixture.filter((r) => r.tenantId === 'initech')),
    );
    assert.equal(fresh.body.nextCursor, null);
  });

  test('the default page is 50 and the last page has no cursor', async () => {
    while (fixture.length <= 50) {
      const eventId = await rows.event('initech', 'customer.created', new Date());
      await add({
        tenantId: 'initech',
        eventId,
        endpointId: eps.c1,
        eventType: 'customer.created',
        status: 'succeeded',
        createdAt: new Date(),
      });
    }
    const all = await t.api.get('/v1/deliveries');
    assert.equal(all.body.data.length, 50);
    assert.equal(typeof all.body.nextCursor, 'string');
    const exact = await t.api.get(`/v1/tenants/acme/deliveries?limit=${acme().length}`);
    assert.equal(exact.body.data.length, acme().length);
    assert.equal(exact.body.nextCursor, null);
  });
});

describe('alerts', () => {
  test('newest first, paged, scoped to the tenant', async () => {
    const failed = acme().find((r) => r.status === 'failed')!;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        await rows.alert({
          tenantId: 'acme',
          type: i === 2 ? 'tern.endpoint.disabled' : 'tern.delivery.failed',
          message:
            i === 2 ? 'Endpoint disabled after 10 failures' : 'Delivery failed after 5 attempts',
          endpointId: failed.endpointId,
          deliveryId: i === 2 ? null : failed.id,
          eventId: i === 2 ? null : failed.eventId,
          data: { attempts: 5, i },
          createdAt: new Date(BASE + i * 60_000),
        }),
      );
    }
    await rows.alert({
      tenantId: 'globex',
      type: 'tern.delivery.failed',
      message: 'not yours',
      createdAt: new Date(BASE),
    });
    const a = new Api(t.url, keyA);
    assert.deepEqual(await collect(a, '/v1/tenants/acme/alerts', 2), [...ids].reverse());
    const res = await a.get('/v1/tenants/acme/alerts?limit=1');
    assert.deepEqual(res.body.data[0], {
      id: ids[4],
      type: 'tern.delivery.failed',
      message: 'Delivery failed after 5 attempts',
      endpointId: failed.endpointId,
      deliveryId: failed.id,
      eventId: failed.eventId,
      data: { attempts: 5, i: 4 },
      createdAt: new Date(BASE + 4 * 60_000).toISOString(),
    });
    assert.equal((await a.get('/v1/tenants/globex/alerts')).status, 404);
    assert.equal((await new Api(t.url, keyB).get('/v1/tenants/globex/alerts')).body.data.length, 1);
    const bad = await a.get('/v1/tenants/acme/alerts?cursor=nope');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.details[0].field, 'cursor');
  });
});
