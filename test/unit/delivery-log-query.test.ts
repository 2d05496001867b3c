// The delivery log's SQL shape (one statement per filter set, a branch per status) and the id
// bounds that turn since/until into index ranges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deliveryLogQuery,
  eventDeliveriesSql,
  ID_TIME_SLACK_MS,
  LEGACY_DELIVERY_SQL,
} from '../../src/deliveries/delivery-log.query';
import { deliveryId, deliveryIdPrefix, idFloor, idTime, newId } from '../../src/common/ids';
import { firstBytes } from '../../src/deliveries/deliveries.service';

const norm = (sql: string) => sql.replace(/SELECT id, .*? FROM/g, 'SELECT … FROM');

test('no filter: the whole table newest first', () => {
  const q = deliveryLogQuery({}, 51);
  assert.equal(norm(q.sql), 'SELECT … FROM deliveries ORDER BY id DESC LIMIT $1');
  assert.deepEqual(q.params, [51]);
});

test('tenant, one status, type, endpoint, event and cursor become one WHERE', () => {
  const q = deliveryLogQuery(
    {
      tenantId: 'acme',
      statuses: ['failed'],
      eventType: 'order.completed',
      endpointId: 'ep_x',
      eventId: 'evt_y',
      beforeId: 'dlv_z',
    },
    11,
  );
  assert.equal(
    norm(q.sql),
    'SELECT … FROM deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND ' +
      `${eventDeliveriesSql('$3')} AND ` +
      'event_type = $4 AND id < $5 AND status = $7 ORDER BY id DESC LIMIT $6',
  );
  assert.deepEqual(q.params, ['acme', 'ep_x', 'evt_y', 'order.completed', 'dlv_z', 11, 'failed']);
});

test('several statuses: one ordered, limited branch each, merged and limited again', () => {
  const q = deliveryLogQuery({ tenantId: 'acme', statuses: ['failed', 'pending', 'failed'] }, 3);
  assert.equal(
    norm(q.sql),
    'SELECT * FROM (' +
      '(SELECT … FROM deliveries WHERE tenant_id = $1 AND status = $3 ORDER BY id DESC LIMIT $2) UNION ALL ' +
      "(SELECT … FROM deliveries WHERE tenant_id = $1 AND status = 'pending' AND claim_id IS NULL ORDER BY id DESC LIMIT $2)" +
      ') d ORDER BY id DESC LIMIT $2',
  );
  assert.deepEqual(q.params, ['acme', 3, 'failed']);
});

test('sending is a pending row held by a claim (or a legacy sending row); pending is one that is not', () => {
  const sending = deliveryLogQuery({ tenantId: 'acme', statuses: ['sending'] }, 3);
  assert.match(sending.sql, / WHERE tenant_id = \$1 AND status = 'sending' ORDER BY id DESC /);
  assert.match(
    sending.sql,
    / WHERE tenant_id = \$1 AND status = 'pending' AND claim_id IS NOT NULL /,
  );
  const pending = deliveryLogQuery({ tenantId: 'acme', statuses: ['pending'] }, 3);
  assert.match(pending.sql, / WHERE tenant_id = \$1 AND status = 'pending' AND claim_id IS NULL /);
  assert.match(
    sending.sql,
    /CASE WHEN claim_id IS NOT NULL THEN 'sending' ELSE status END AS status/,
    'the status shown is derived the same way',
  );
});

test('since/until: id bounds, and created_at deciding only near the edges', () => {
  const since = new Date('2025-03-01T00:00:00Z');
  const until = new Date('2025-03-02T00:00:00Z');
  const q = deliveryLogQuery({ since, until }, 5);
  assert.match(
    q.sql,
    / WHERE id >= \$1 AND \(id >= \$2 OR created_at >= \$3::timestamptz\) AND id < \$4 AND \(id < \$5 OR created_at < \$6::timestamptz\) ORDER BY/,
  );
  const at = (i: number) => idTime(q.params[i] as string)!.getTime();
  assert.equal(at(0), since.getTime() - ID_TIME_SLACK_MS);
  assert.equal(at(1), since.getTime() + ID_TIME_SLACK_MS);
  assert.equal(q.params[2], since.toISOString());
  assert.equal(at(3), until.getTime() + ID_TIME_SLACK_MS);
  assert.equal(at(4), until.getTime() - ID_TIME_SLACK_MS);
  assert.equal(q.params[5], until.toISOString());
});

test('idFloor sorts below every id of its millisecond and above every earlier one', () => {
  const ms = Date.parse('2025-03-01T12:00:00.123Z');
  const floor = idFloor('dlv', ms);
  assert.match(floor, /^dlv_[0-9a-z]{10}0{16}$/);
  assert.equal(idTime(floor)!.getTime(), ms);
  for (let i = 0; i < 50; i++) {
    // One reading of the clock: two could be milliseconds apart on a busy machine.
    const now = Date.now();
    const at = newId('dlv', now);
    assert.ok(at >= idFloor('dlv', now), `${at} at ${now}`);
    assert.ok(at > idFloor('dlv', now - 1));
  }
  assert.ok(idFloor('dlv', ms - 1) < floor);
  assert.ok(`dlv_${floor.slice(4, 14)}zzzzzzzzzzzzzzzz` < idFloor('dlv', ms + 1));
});

test('firstBytes keeps at most 4 KiB and never splits a character', () => {
  assert.equal(firstBytes(null), null);
  assert.equal(firstBytes('short'), 'short');
  const exact = 'a'.repeat(4096);
  assert.equal(firstBytes(exact), exact);
  assert.equal(firstBytes('a'.repeat(4095) + 'é'), 'a'.repeat(4095));
  assert.equal(firstBytes('é'.repeat(3000))!.length, 2048);
});

test("a tenant's or an endpoint's whole log: one ordered branch per stored status", () => {
  const branches = (sql: string) => [...sql.matchAll(/status = '(\w+)'/g)].map((m) => m[1]);
  const all = ['pending', 'succeeded', 'failed', 'paused', 'cancelled', 'sending'];
  const tenant = deliveryLogQuery({ tenantId: 'acme' }, 51);
  assert.deepEqual(branches(tenant.sql), all);
  assert.match(
    norm(tenant.sql),
    /^SELECT \* FROM \(\(SELECT … FROM deliveries WHERE tenant_id = \$1 AND status = 'pending' ORDER BY id DESC LIMIT \$2\) UNION ALL /,
  );
  assert.match(tenant.sql, /\) d ORDER BY id DESC LIMIT \$2$/);
  const endpoint = deliveryLogQuery({ endpointId: 'ep_x', eventType: 'a.b' }, 51);
  assert.deepEqual(branches(endpoint.sql), all);
  // The walk through the tenant's events of the type, and the event's id range, serve these.
  assert.deepEqual(branches(deliveryLogQuery({ tenantId: 'acme', eventType: 'a.b' }, 51).sql), []);
  assert.deepEqual(branches(deliveryLogQuery({ tenantId: 'acme', eventId: 'evt_y' }, 51).sql), []);
  assert.deepEqual(branches(deliveryLogQuery({}, 51).sql), []);
});

test("an event's deliveries: its range of the primary key, or the legacy index", () => {
  assert.equal(
    eventDeliveriesSql('$1'),
    "event_id = $1 AND (id BETWEEN ('dlv_' || substr($1, 5, 10) || right($1, 12)) || '0000' AND " +
      "('dlv_' || substr($1, 5, 10) || right($1, 12)) || 'zzzz' OR " +
      "(left(id, 26) <> ('dlv_' || substr(event_id, 5, 10) || right(event_id, 12)) AND event_id = $1))",
  );
  // The range holds every delivery id deliveryId can make for the event, and the legacy
  // predicate (the partial indexes' own, word for word in the migration) is false of each.
  const event = newId('evt');
  const prefix = deliveryIdPrefix(event);
  assert.equal(prefix.length, 26);
  for (const n of [0, 1, 31, 32, 1023, 32 ** 4 - 1]) {
    const id = deliveryId(event, n);
    assert.ok(id >= `${prefix}0000` && id <= `${prefix}zzzz`, id);
    assert.equal(id.slice(0, 26), prefix);
  }
  assert.equal(
    LEGACY_DELIVERY_SQL,
    "left(id, 26) <> ('dlv_' || substr(event_id, 5, 10) || right(event_id, 12))",
  );
});

test("a tenant's log of one type walks its events of the type, bounded by the id bounds", () => {
  const q = deliveryLogQuery(
    {
      tenantId: 'acme',
      eventType: 'a.b',
      since: new Date('2025-03-01T00:00:00Z'),
      until: new Date('2025-03-02T00:00:00Z'),
      beforeId: 'dlv_z',
    },
    11,
  );
  const prefix = "('dlv_' || substr(e.id, 5, 10) || right(e.id, 12))";
  const sql = norm(q.sql);
  assert.ok(sql.startsWith('SELECT * FROM ((SELECT d.* FROM events e CROSS JOIN LATERAL ('), sql);
  assert.ok(
    sql.includes(
      ` WHERE e.tenant_id = $1 AND e.type = $2 AND ${prefix} >= left($3, 26) AND ` +
        `${prefix} <= left($6, 26) AND ${prefix} <= left($9, 26) ` +
        `ORDER BY ${prefix} DESC, d.id DESC LIMIT $10)`,
    ),
    sql,
  );
  // Each event's deliveries by its id range, none of them legacy, under every condition on a row.
  assert.ok(
    sql.includes(
      `WHERE id BETWEEN ${prefix} || '0000' AND ${prefix} || 'zzzz' AND event_id = e.id AND ` +
        `NOT (${LEGACY_DELIVERY_SQL}) AND tenant_id = $1 AND event_type = $2 AND id >= $3`,
    ),
    sql,
  );
  assert.ok(sql.includes('AND id < $9 OFFSET 0) d'), sql);
  // The legacy rows: the partial index's predicate, word for word.
  assert.ok(
    sql.endsWith(
      `UNION ALL (SELECT … FROM deliveries WHERE ${LEGACY_DELIVERY_SQL} AND tenant_id = $1 AND ` +
        'event_type = $2 AND id >= $3 AND (id >= $4 OR created_at >= $5::timestamptz) AND id < $6 AND ' +
        '(id < $7 OR created_at < $8::timestamptz) AND id < $9 ORDER BY id DESC LIMIT $10)) d ' +
        'ORDER BY id DESC LIMIT $10',
    ),
    sql,
  );
  // A status, an endpoint or an event narrows the log further: the usual shapes.
  for (const narrower of [{ statuses: ['failed'] }, { endpointId: 'ep_x' }, { eventId: 'evt_y' }])
    assert.doesNotMatch(
      deliveryLogQuery({ tenantId: 'acme', eventType: 'a.b', ...narrower }, 11).sql,
      /FROM events/,
    );
});

test('pending and sending rows across tenants are said to be due (read through the due index)', () => {
  const due = / AND next_attempt_at IS NOT NULL/;
  assert.match(deliveryLogQuery({ statuses: ['pending'] }, 11).sql, due);
  assert.match(deliveryLogQuery({ statuses: ['sending'], eventType: 'a.b' }, 11).sql, due);
  assert.doesNotMatch(deliveryLogQuery({ statuses: ['failed'] }, 11).sql, due);
  assert.doesNotMatch(deliveryLogQuery({ tenantId: 'acme', statuses: ['pending'] }, 11).sql, due);
  assert.doesNotMatch(deliveryLogQuery({ endpointId: 'ep_x', statuses: ['pending'] }, 11).sql, due);
});
