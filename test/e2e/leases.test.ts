// A claim whose worker died: its lease expires, the sweeper logs the lost attempt and makes the
// delivery due again, and a live worker sends it. Both forms of a claim are covered: a pending row
// held by its claim_id (this version), and a 'sending' row left by a worker older than the
// HotClaims migration.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  createEndpoint,
  createEventType,
  createTenant,
  eventually,
  Receiver,
  RunningTern,
  startReceiver,
  startTern,
} from '../support/harness';
import { newId } from '../../src/common/ids';
import { eventBody } from '../../src/events/events.service';
import { COARSE_TARGET } from '../../src/database/table-statistics.service';

let t: RunningTern;
let rcv: Receiver;
let pg: Client;

before(async () => {
  t = await startTern({ SWEEP_INTERVAL_MS: '300' });
  rcv = await startReceiver();
  pg = new Client({ connectionString: t.databaseUrl });
  await pg.connect();
  await createEventType(t.api, 'lease.lost');
});

after(async () => {
  await pg?.end();
  await rcv?.close();
  await t?.close();
});

/** A delivery as a worker killed mid-attempt leaves it: claimed, lease expired a second ago. */
async function abandonedClaim(
  stored: 'pending' | 'sending',
): Promise<{ id: string; eventId: string }> {
  const tenant = await createTenant(t.api);
  const ep = await createEndpoint(t.api, tenant.id, {
    url: `${rcv.url}/lease-${stored}`,
    eventTypes: ['lease.lost'],
  });
  const eventId = newId('evt');
  const timestamp = new Date().toISOString();
  await pg.query(`INSERT INTO events (id, tenant_id, type, body) VALUES ($1, $2, $3, $4)`, [
    eventId,
    tenant.id,
    'lease.lost',
    eventBody(eventId, 'lease.lost', timestamp, { n: 1 }),
  ]);
  const id = newId('dlv');
  await pg.query(
    `INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, attempts,
                             max_attempts, next_attempt_at, claim_id, lease_expires_at, updated_at)
     VALUES ($1, $2, $3, $4, 'lease.lost', $5, 1, 5, now() - interval '1 minute', $6,
             now() - interval '1 second', now() - interval '50 seconds')`,
    [id, tenant.id, eventId, ep.id, stored, randomUUID()],
  );
  return { id, eventId };
}

for (const stored of ['pending', 'sending'] as const) {
  test(`an expired lease (claimed row stored as ${stored}) is released, logged and sent again`, async () => {
    const { id, eventId } = await abandonedClaim(stored);
    await eventually(
      async () => rcv.requests.some((r) => r.headers['webhook-id'] === eventId),
      10_000,
      'the abandoned delivery sent again',
    );
    const sent = rcv.requests.find((r) => r.headers['webhook-id'] === eventId)!;
    assert.equal(sent.headers['x-webhook-retry'], '1', 'the lost attempt counted as the first');
    const row = await eventually(async () => {
      const r = await pg.query(`SELECT status, claim_id, attempts FROM deliveries WHERE id = $1`, [
        id,
      ]);
      return r.rows[0].status === 'succeeded' && r.rows[0];
    });
    assert.equal(row.claim_id, null);
    assert.equal(row.attempts, 2);
    const attempts = await pg.query(
      `SELECT attempt, error FROM attempts WHERE delivery_id = $1 ORDER BY attempt`,
      [id],
    );
    assert.deepEqual(
      attempts.rows.map((a) => a.attempt),
      [1, 2],
    );
    assert.match(attempts.rows[0].error, /lease expired/);
    assert.equal(attempts.rows[1].error, null);
  });
}

test('a young table that doubled gets fresh statistics within seconds, without autovacuum', async () => {
  const tenant = await createTenant(t.api);
  // This test's own database: where autovacuum is on, it must not be what analyzes the table.
  await pg.query(`ALTER TABLE events SET (autovacuum_enabled = false)`);
  const before = await pg.query(`SELECT reltuples FROM pg_class WHERE relname = 'events'`);
  const rows = Math.max(1_000, 2 * Number(before.rows[0].reltuples) + 1_000);
  await pg.query(
    `INSERT INTO events (id, tenant_id, type, body)
     SELECT 'evt_stats_' || g, $1, 'lease.lost', '{}' FROM generate_series(1, $2) g`,
    [tenant.id, rows],
  );
  await eventually(
    async () =>
      Number(
        (await pg.query(`SELECT reltuples FROM pg_class WHERE relname = 'events'`)).rows[0]
          .reltuples,
      ) >= rows,
    25_000,
    'events analyzed',
  );
  // A small log table's ANALYZE is coarse: a histogram of COARSE_TARGET buckets, not the default
  // 100. (reltuples is written in place before the ANALYZE commits: wait for its statistics.)
  const bounds = await eventually(
    async () =>
      (
        await pg.query(
          `SELECT array_length(histogram_bounds::text::text[], 1) AS bounds
             FROM pg_stats WHERE tablename = 'events' AND attname = 'id'`,
        )
      ).rows[0]?.bounds as number | undefined,
    10_000,
    "events' statistics",
  );
  assert.equal(bounds, COARSE_TARGET + 1);
});
