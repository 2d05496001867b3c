#!/usr/bin/env node
// Postgres alone: Tern's own hot statements (the ingest insert, the claim and the result write,
// read from this build's dist/) replayed on a fresh database over one connection, with no other
// load, as a burst into a new install makes them: groups of 9 events x 10 endpoints, claims of 60,
// results of 50. Prints the backend's CPU per delivery, the cleanest measure of what a schema or
// statement change costs Postgres.
//   npm run build && node bench/replay-statements.js [--events 4000] [--dead N] [--group 9] [--no-analyze] [--setup SQL]
// --dead N subscribes N more endpoints whose deliveries are written and never claimed, like those of
// endpoints that never answer; CPU stays per healthy delivery, so the difference from a run without
// them, divided by N, is what Postgres spends on one such row.
// --group N writes N events a statement (the group commit of a batch-fed API writes hundreds).
// BENCH_DB_COLLATE=C makes the database in that collation (see lib.createDatabase).
// --no-analyze leaves out what TableStatisticsService does (ANALYZE a young table each time it has
// doubled), to show what plans made from an empty table's statistics cost. --setup runs SQL on the
// migrated database first (statements separated by `;`), to try a schema change before writing
// its migration: --setup "ALTER TABLE deliveries SET (fillfactor = 80)".
// The line also gives each statement's share (CPU per delivery) and the deliveries table's size.
'use strict';
const { Client } = require('pg');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { randomUUID } = require('node:crypto');
const { cpuOf, createDatabase, deliveriesTable, dropDatabase } = require('./lib');

const ROOT = join(__dirname, '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const EVENTS = Number(arg('--events', 4000));
const ANALYZE = !process.argv.includes('--no-analyze');
const SETUP = arg('--setup', '');
const DEAD = Number(arg('--dead', 0));
const GROUP = Number(arg('--group', 9));
if (!(Number.isInteger(GROUP) && GROUP >= 1))
  throw new Error('--group takes a whole number above 0');

/** A statement's SQL as the build has it: the template literal that starts with `start`. */
function statement(file, start) {
  const s = readFileSync(join(ROOT, 'dist', 'src', file), 'utf8');
  const a = s.indexOf(start);
  let sql = s.slice(a, s.indexOf('`', a));
  for (const m of s.matchAll(/const (\w+) = `([^`]*)`;/g))
    sql = sql.split(`\${${m[1]}}`).join(m[2]);
  return sql;
}

(async () => {
  const INSERT = require(join(ROOT, 'dist', 'src', 'events', 'insert-events.statement'))
    .INSERT_EVENTS.text;
  const { newId, deliveryId } = require(join(ROOT, 'dist', 'src', 'common', 'ids'));
  const { patternsFor } = require(join(ROOT, 'dist', 'src', 'subscriptions', 'patterns'));
  const fanPatterns = patternsFor('x');
  const fanTenants = fanPatterns.map(() => 't');
  const fanTypes = fanPatterns.map(() => 'x');
  const CLAIM = statement('deliveries/delivery-claims.service.js', 'WITH due AS (');
  const RECORD = statement('deliveries/delivery-claims.service.js', 'WITH r0 AS (');
  const db = `tern_bench_replay_${process.pid}`;
  const url = await createDatabase(db);
  const c = new Client({ connectionString: url });
  try {
    const { runMigrations } = require(join(ROOT, 'dist', 'src', 'database', 'data-source'));
    await runMigrations(url);
    await c.connect();
    await c.query(`INSERT INTO tenants (id, name) VALUES ('t', 't')`);
    await c.query(
      `INSERT INTO endpoints (id, tenant_id, url, secret)
       SELECT 'ep_' || i, 't', 'http://x/' || i, 's' FROM generate_series(0, $1::int) i`,
      [9 + DEAD],
    );
    await c.query(
      `INSERT INTO endpoint_subscriptions (endpoint_id, tenant_id, pattern)
       SELECT 'ep_' || i, 't', 'x' FROM generate_series(0, $1::int) i`,
      [9 + DEAD],
    );
    /** ep_0 to ep_9 answer; the others' deliveries are never claimed. */
    const healthy = (endpointId) => Number(endpointId.slice(3)) < 10;
    for (const q of SETUP.split(';').filter((x) => x.trim())) await c.query(q);
    const [{ pid }] = (await c.query('SELECT pg_backend_pid() AS pid')).rows;
    /** CPU seconds of the backend by statement. */
    const spent = { insert: 0, claim: 0, record: 0 };
    const timed = async (name, run) => {
      const a = cpuOf(pid);
      const r = await run();
      spent[name] += cpuOf(pid) - a;
      return r;
    };
    const body = 'x'.repeat(700);
    const young = async () => {
      const { rows } = await c.query(
        `SELECT s.relname AS t, c.reltuples AS r, s.n_mod_since_analyze AS m
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid`,
      );
      for (const x of rows)
        if (Math.max(0, x.r) < 1e6 && Number(x.m) >= Math.max(500, x.r))
          await c.query(`ANALYZE ${x.t}`);
    };
    const toClaim = [];
    const toRecord = [];
    const t0 = cpuOf(pid);
    for (let ins = 0, step = 0; ins < EVENTS; step++) {
      const ev = [[], [], [], [], []];
      for (let k = 0; k < GROUP && ins < EVENTS; k++, ins++)
        [newId('evt'), 't', 'x', body, null].forEach((v, i) => ev[i].push(v));
      // The fan-out is read inside the statement: the patterns that match type x (x and *, as
      // patternsFor gives them); all 10 endpoints are subscribed to x.
      const r = await timed('insert', () =>
        c.query({
          name: 'ins',
          text: INSERT,
          values: [...ev, new Date(), fanTenants, fanTypes, fanPatterns, null, 5, false],
        }),
      );
      // The answer: a row per event, and a row per endpoint of the fan-out (see INSERT_EVENTS).
      const places = r.rows
        .filter((row) => row.event_id === null && healthy(row.endpoint_id))
        .map((row) => row.n)
        .sort((a, b) => a - b);
      for (const row of r.rows)
        if (row.event_id !== null)
          for (const n of places) toClaim.push(deliveryId(row.event_id, n));
      while (toClaim.length >= 60) {
        const claimId = randomUUID();
        const r = await timed('claim', () =>
          c.query({ name: 'claim', text: CLAIM, values: [toClaim.splice(0, 60), claimId, 45_000] }),
        );
        for (const row of r.rows) toRecord.push([row.id, claimId, row.endpoint_id]);
      }
      while (toRecord.length >= 50) {
        const b = toRecord.splice(0, 50);
        const all = (v) => b.map(() => v);
        await timed('record', () =>
          c.query({
            name: 'record',
            text: RECORD,
            values: [
              b.map((x) => x[0]),
              b.map((x) => x[1]),
              all('succeeded'),
              all(null),
              all(200),
              all(null),
              all(1),
              all(5),
              all('ok'),
              all(new Date()),
              b.map((x) => `att_${x[0]}`),
              ['ep_1'],
              all(5),
              b.map((x) => x[2]),
              all(false),
            ],
          }),
        );
      }
      if (ANALYZE && step % 10 === 0) await young();
    }
    const used = cpuOf(pid) - t0;
    const st = await deliveriesTable(c);
    console.log(
      JSON.stringify({
        bench: 'replay-statements',
        deliveries: EVENTS * 10,
        deadDeliveries: EVENTS * DEAD,
        analyzeYoungTables: ANALYZE,
        postgresCpuUsPerDelivery: Math.round((used / (EVENTS * 10)) * 1e6),
        byStatementUs: Object.fromEntries(
          Object.entries(spent).map(([k, v]) => [k, Math.round((v / (EVENTS * 10)) * 1e6)]),
        ),
        deliveriesHeapBytesPerDelivery: Math.round(st.heapBytes / (EVENTS * 10)),
        deliveriesBytesPerDelivery: Math.round(st.totalBytes / (EVENTS * 10)),
        hotUpdatesPct: Math.round((100 * st.hotUpdates) / Math.max(1, st.updates)),
      }),
    );
  } finally {
    await c.end().catch(() => undefined);
    await dropDatabase(db);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
