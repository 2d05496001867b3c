#!/usr/bin/env node
// Seeds a Tern database with a realistic delivery log for the log query benchmark: 50 tenants
// x 20 endpoints, ~1.6 deliveries per event, skewed tenants/types/endpoints, statuses mostly
// succeeded. Rows are generated inside Postgres (INSERT ... SELECT generate_series), in chunks.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/tern_bench_log \
//     node bench/seed-deliveries.js --create --migrate --deliveries 1000000
//
// --create   create the database named in DATABASE_URL if it does not exist
// --migrate  apply the compiled migrations
// Needs `npm run build`: delivery ids are made as the compiled src/common/ids.js makes them.
// --reset    empty the tables this script fills before seeding
// Ids have the same shape as src/common/ids.ts (prefix, 10 base32 chars of ms, 16 more; a
// delivery's made from its event's), and created_at is the instant encoded in the id, as in
// production.
'use strict';
const { Client } = require('pg');
const { join } = require('node:path');

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
};

const DATABASE_URL =
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tern_bench_log';
const DELIVERIES = option('deliveries', 1_000_000);
const TENANTS = option('tenants', 50);
const ENDPOINTS_PER_TENANT = option('endpoints-per-tenant', 20);
const DAYS = option('days', 30);
const CHUNK_EVENTS = option('chunk', 100_000);
// Fan-out pattern over every 20 events: 9 go to 2 endpoints, 3 to 3, the rest to 1 (mean 1.6).
const FANOUT_MEAN = 1.6;

const TYPES = [];
for (const noun of ['order', 'invoice', 'customer', 'subscription', 'payment', 'shipment']) {
  for (const verb of ['created', 'updated', 'completed', 'cancelled'])
    TYPES.push(`${noun}.${verb}`);
}

const log = (msg) =>
  process.stderr.write(`[seed ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function createDatabase() {
  const url = new URL(DATABASE_URL);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`refusing odd database name "${name}"`);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (!rowCount) {
    await admin.query(`CREATE DATABASE ${name}`);
    log(`created database ${name}`);
  }
  await admin.end();
}

async function migrate() {
  const { runMigrations } = require(
    join(__dirname, '..', 'dist', 'src', 'database', 'data-source'),
  );
  const applied = await runMigrations(DATABASE_URL);
  log(`migrations applied: ${applied.length ? applied.join(', ') : 'none pending'}`);
}

// The time part of an id: 10 Crockford base32 digits of the millisecond, as ids.ts encodes it.
const TIME_PART = Array.from(
  { length: 10 },
  (_, i) => `substr('0123456789abcdefghjkmnpqrstvwxyz', ((ms >> ${45 - 5 * i}) & 31)::int + 1, 1)`,
).join(' || ');

async function seed(db) {
  const { deliveryIdSql } = require(join(__dirname, '..', 'dist', 'src', 'common', 'ids'));
  const started = Date.now();
  const { rows: existing } = await db.query('SELECT count(*)::int AS n FROM deliveries');
  if (existing[0].n > 0 && !flag('reset')) {
    throw new Error(`deliveries already holds ${existing[0].n} rows; pass --reset to start over`);
  }
  if (flag('reset')) {
    await db.query(
      'TRUNCATE alerts, attempts, deliveries, events, endpoint_subscriptions, endpoints, api_keys',
    );
    await db.query(`DELETE FROM tenants WHERE id LIKE 't_bench_%'`);
  }

  // Bulk load: no FK triggers (we generate consistent rows) and secondary indexes built once at the end.
  await db.query(`SET session_replication_role = replica`);
  await db.query(`SET maintenance_work_mem = '512MB'`);
  const { rows: indexes } = await db.query(
    `SELECT indexname, indexdef FROM pg_indexes
      WHERE schemaname = 'public' AND tablename = 'deliveries' AND indexname <> 'deliveries_pkey'`,
  );
  for (const ix of indexes) await db.query(`DROP INDEX ${ix.indexname}`);
  log(`dropped ${indexes.length} secondary indexes of deliveries for the load`);

  await db.query(`
    CREATE FUNCTION pg_temp.tern_id(prefix text, ms bigint, salt text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT prefix || '_' || ${TIME_PART} || substr(md5(salt), 1, 16) $$`);

  const end = Date.now();
  const start = end - DAYS * 86_400_000;
  const events = Math.ceil(DELIVERIES / FANOUT_MEAN);

  await db.query(
    `INSERT INTO tenants (id, name, created_at, updated_at)
     SELECT 't_bench_' || lpad(t::text, 2, '0'), 'Bench tenant ' || t, to_timestamp($1 / 1000.0), to_timestamp($1 / 1000.0)
       FROM generate_series(0, $2::int - 1) t`,
    [start - 86_400_000, TENANTS],
  );
  await db.query(
    `INSERT INTO event_types (name, category) SELECT n, split_part(n, '.', 1) FROM unnest($1::text[]) n
     ON CONFLICT (name) DO NOTHING`,
    [TYPES],
  );
  await db.query(`CREATE TEMP TABLE bench_ep (t int, j int, id text, PRIMARY KEY (t, j))`);
  await db.query(
    `INSERT INTO bench_ep
     SELECT t, j, pg_temp.tern_id('ep', $1::bigint + t * $2::int + j, 'ep' || t || '.' || j)
       FROM generate_series(0, $2::int - 1) j, generate_series(0, $3::int - 1) t`,
    [start - 3_600_000, ENDPOINTS_PER_TENANT, TENANTS],
  );
  await db.query(
    `INSERT INTO endpoints (id, tenant_id, url, secret, created_at, updated_at)
     SELECT id, 't_bench_' || lpad(t::text, 2, '0'), 'https://hooks.example.com/t' || t || '/e' || j,
            'whsec_' || encode(sha256(id::bytea), 'base64'), to_timestamp($1 / 1000.0), to_timestamp($1 / 1000.0)
       FROM bench_ep`,
    [start - 3_600_000],
  );
  await db.query(
    `INSERT INTO endpoint_subscriptions (endpoint_id, tenant_id, pattern)
     SELECT id, 't_bench_' || lpad(t::text, 2, '0'), '*' FROM bench_ep`,
  );
  log(
    `${TENANTS} tenants, ${TENANTS * ENDPOINTS_PER_TENANT} endpoints, ${TYPES.length} event types`,
  );

  let deliveries = 0;
  for (let lo = 0; lo < events; lo += CHUNK_EVENTS) {
    const hi = Math.min(events, lo + CHUNK_EVENTS) - 1;
    // ev is referenced twice, so Postgres materialises it once: events and their deliveries agree.
    const res = await db.query(
      `WITH ev AS (
         SELECT g,
                floor($5::int * power(random(), 2))::int AS t,                -- tenant 0 ~14 %, tenant 49 ~1 %
                floor(array_length($6::text[], 1) * power(random(), 1.5))::int AS ty,
                floor($7::int * power(random(), 1.5))::int AS base,           -- first endpoint, low slots busier
                1 + (g % 20 < 9)::int + (g % 20 < 3)::int AS fanout,
                ($3::bigint + (g::numeric * ($4::bigint - $3::bigint) / $8::bigint)::bigint) AS ms,
                g::numeric / $8::bigint AS age                                    -- 0 oldest .. 1 newest
           FROM generate_series($1::int, $2::int) g
       ), ins AS (
         INSERT INTO events (id, tenant_id, type, body, created_at)
         SELECT pg_temp.tern_id('evt', ms, 'evt' || g), 't_bench_' || lpad(t::text, 2, '0'), $6[ty + 1],
                format('{"id":"%s","type":"%s","timestamp":"%s","data":{"orderId":"ord_%s","amount":%s,"currency":"EUR","customer":{"id":"cus_%s","email":"buyer%s@example.com"}}}',
                       pg_temp.tern_id('evt', ms, 'evt' || g), $6[ty + 1],
                       to_char(to_timestamp(ms / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                       g, (g::bigint * 7919) % 100000, g % 5000, g % 5000),
                to_timestamp(ms / 1000.0)
           FROM ev
       )
       INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status, attempts,
                               max_attempts, next_attempt_at, last_status_code, last_error, created_at, updated_at,
                               claim_id, lease_expires_at)
       -- a delivery's id is made from its event's and its place in the fan-out (ids.ts, deliveryId)
       SELECT ${deliveryIdSql('d.ev', 'd.s')}, d.tenant, d.ev,
              -- one in flight is stored pending, held by a claim (DELIVERY_STATUS_SQL)
              d.endpoint, d.type, CASE WHEN d.status = 'sending' THEN 'pending' ELSE d.status END,
              CASE d.status WHEN 'succeeded' THEN 1 + (d.p < 0.05)::int WHEN 'failed' THEN 5
                            WHEN 'pending' THEN 1 + (d.g % 3) WHEN 'sending' THEN 1 + (d.g % 2) ELSE 2 END,
              5,
              CASE WHEN d.status IN ('pending', 'sending') THEN to_timestamp(d.ms / 1000.0) + interval '5 minutes' END,
              CASE d.status WHEN 'succeeded' THEN 200 WHEN 'failed' THEN 500 WHEN 'pending' THEN 503
                            WHEN 'paused' THEN 500 END,
              CASE d.status WHEN 'failed' THEN 'HTTP 500' WHEN 'pending' THEN 'HTTP 503' WHEN 'paused' THEN 'HTTP 500' END,
              to_timestamp(d.ms / 1000.0), to_timestamp(d.ms / 1000.0) + interval '2 seconds',
              CASE WHEN d.status = 'sending' THEN gen_random_uuid() END,
              CASE WHEN d.status = 'sending' THEN to_timestamp(d.ms / 1000.0) + interval '5 minutes 45 seconds' END
         FROM (
           SELECT d0.*,
                  CASE WHEN d0.age > 0.995 THEN                          -- the last few hours: retries in flight
                         CASE WHEN p < 0.70 THEN 'succeeded' WHEN p < 0.92 THEN 'pending'
                              WHEN p < 0.95 THEN 'sending' ELSE 'failed' END
                       ELSE
                         CASE WHEN p < 0.93 THEN 'succeeded' WHEN p < 0.975 THEN 'failed'
                              WHEN p < 0.99 THEN 'cancelled' ELSE 'paused' END
                  END AS status
             FROM (
               -- random() in a select list keeps this subquery from being flattened: one p per row.
               SELECT ev.g, s, ev.age, pg_temp.tern_id('evt', ev.ms, 'evt' || ev.g) AS ev, ev.ms + s AS ms, 't_bench_' || lpad(ev.t::text, 2, '0') AS tenant,
                      ep.id AS endpoint, $6[ev.ty + 1] AS type, random() AS p
                 FROM ev
                 CROSS JOIN LATERAL generate_series(0, ev.fanout - 1) s
                 JOIN bench_ep ep ON ep.t = ev.t AND ep.j = (ev.base + s * 7) % $7::int
               OFFSET 0
             ) d0
         ) d`,
      [lo, hi, start, end, TENANTS, TYPES, ENDPOINTS_PER_TENANT, events],
    );
    deliveries += res.rowCount;
    log(`events ${hi + 1}/${events}, deliveries ${deliveries}`);
  }

  await db.query(`RESET session_replication_role`);
  for (const ix of indexes) {
    const t = Date.now();
    await db.query(ix.indexdef);
    log(`rebuilt ${ix.indexname} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  await db.query('VACUUM ANALYZE tenants, endpoints, endpoint_subscriptions, events, deliveries');

  const { rows: stats } = await db.query(
    `SELECT (SELECT count(*) FROM deliveries)::int AS deliveries, (SELECT count(*) FROM events)::int AS events,
            (SELECT count(*) FROM endpoints)::int AS endpoints, (SELECT count(*) FROM tenants)::int AS tenants,
            pg_size_pretty(pg_total_relation_size('deliveries')) AS deliveries_size,
            pg_size_pretty(pg_database_size(current_database())) AS database_size`,
  );
  const { rows: statuses } = await db.query(
    `SELECT CASE WHEN claim_id IS NOT NULL THEN 'sending' ELSE status END AS status, count(*)::int AS n
       FROM deliveries GROUP BY 1 ORDER BY n DESC`,
  );
  const summary = {
    ...stats[0],
    statuses: Object.fromEntries(statuses.map((r) => [r.status, r.n])),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

async function main() {
  if (flag('create')) await createDatabase();
  if (flag('migrate')) await migrate();
  const db = new Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    await seed(db);
  } finally {
    await db.end();
  }
}

main().catch((e) => {
  process.stderr.write(`seed-deliveries: ${e.stack || e}\n`);
  process.exit(1);
});
