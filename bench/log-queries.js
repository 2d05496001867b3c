#!/usr/bin/env node
// Times the delivery log's page queries on a seeded database (bench/seed-deliveries.js): every
// filter and the combinations users make, on the first page and on a deep cursor page, 200 runs
// each. The SQL comes from the compiled service code (dist/src/deliveries/delivery-log.query.js),
// so this measures exactly what the API runs. Prints one JSON line per query:
//   {"query", "page", "rows", "p50Ms", "p99Ms", "maxMs", "top", "scans", "sorted", "removedByFilter",
//    "buffers", "orderedIndexScan"}
//
//   npm run build
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/tern_bench_log node bench/log-queries.js \
//     [--runs 200] [--plans bench/results/log-plans.md] [--only tenant] [--backlog 100000]
// --backlog N  afterwards, in a transaction rolled back at the end, turns N deliveries pending at
//              once (an outage) and times the pending filters before ANALYZE catches up.
'use strict';
const { Client } = require('pg');
const { join } = require('node:path');
const { writeFileSync } = require('node:fs');

const { deliveryLogQuery } = require(
  join(__dirname, '..', 'dist', 'src', 'deliveries', 'delivery-log.query'),
);

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const DATABASE_URL =
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tern_bench_log';
const RUNS = Number(option('runs', 200));
const WARMUP = 10;
const PAGE = 50; // the API's default page; it fetches PAGE + 1 rows to know whether more follow
const DEEP_MAX = 100_000;
const PLANS = option('plans', null);
const ONLY = option('only', null);
const BACKLOG = Number(option('backlog', 100_000));

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round = (ms) => Math.round(ms * 1000) / 1000;

/** Picks realistic filter values from the data: the biggest and a small tenant, hot endpoint, types, a window. */
async function pickParameters(db) {
  const one = async (sql, params = []) => (await db.query(sql, params)).rows[0];
  const big = (
    await one(`SELECT tenant_id FROM deliveries GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`)
  ).tenant_id;
  const small = (
    await one(`SELECT tenant_id FROM deliveries GROUP BY 1 ORDER BY count(*) ASC LIMIT 1`)
  ).tenant_id;
  const hotEndpoint = (
    await one(
      `SELECT endpoint_id FROM deliveries WHERE tenant_id = $1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
      [big],
    )
  ).endpoint_id;
  const types = (
    await db.query(
      `SELECT event_type, count(*)::int AS n FROM deliveries WHERE tenant_id = $1 GROUP BY 1 ORDER BY 2 DESC`,
      [big],
    )
  ).rows;
  const span = await one(`SELECT min(created_at) AS lo, max(created_at) AS hi FROM deliveries`);
  const mid = new Date((span.lo.getTime() + span.hi.getTime()) / 2);
  const event = (
    await one(
      `SELECT event_id FROM deliveries WHERE tenant_id = $1 AND id < (SELECT id FROM deliveries WHERE created_at >= $2 ORDER BY created_at LIMIT 1)
        ORDER BY id DESC LIMIT 1`,
      [big, mid],
    )
  ).event_id;
  return {
    big,
    small,
    hotEndpoint,
    commonType: types[0].event_type,
    rareType: types[types.length - 1].event_type,
    eventId: event,
    daySince: mid,
    dayUntil: new Date(mid.getTime() + 86_400_000),
    weekSince: new Date(span.hi.getTime() - 7 * 86_400_000),
  };
}

function cases(p) {
  const day = { since: p.daySince, until: p.dayUntil };
  return [
    ['tenant', { tenantId: p.big }],
    ['tenant (smallest)', { tenantId: p.small }],
    ['tenant + status=failed', { tenantId: p.big, statuses: ['failed'] }],
    ['tenant + status=pending (rare, recent)', { tenantId: p.big, statuses: ['pending'] }],
    ['tenant + status=paused (rare)', { tenantId: p.big, statuses: ['paused'] }],
    ['tenant + status=failed,pending', { tenantId: p.big, statuses: ['failed', 'pending'] }],
    ['tenant + eventType (common)', { tenantId: p.big, eventType: p.commonType }],
    ['tenant + eventType (rare)', { tenantId: p.big, eventType: p.rareType }],
    ['tenant + endpointId', { tenantId: p.big, endpointId: p.hotEndpoint }],
    [
      'tenant + endpointId + status=failed',
      { tenantId: p.big, endpointId: p.hotEndpoint, statuses: ['failed'] },
    ],
    [
      'tenant + endpointId + status=paused',
      { tenantId: p.big, endpointId: p.hotEndpoint, statuses: ['paused'] },
    ],
    ['tenant + eventId', { tenantId: p.big, eventId: p.eventId }],
    ['tenant + since/until (1 day)', { tenantId: p.big, ...day }],
    ['tenant + since (last 7 days)', { tenantId: p.big, since: p.weekSince }],
    [
      'tenant + status=failed + eventType',
      { tenantId: p.big, statuses: ['failed'], eventType: p.commonType },
    ],
    // A rare type beside a status or an endpoint: read through the status or endpoint index,
    // filtered on the type (deliveries keep no (tenant_id, event_type, id) index).
    [
      'tenant + status=succeeded + eventType (rare)',
      { tenantId: p.big, statuses: ['succeeded'], eventType: p.rareType },
    ],
    [
      'tenant + status=failed + eventType (rare)',
      { tenantId: p.big, statuses: ['failed'], eventType: p.rareType },
    ],
    [
      'tenant + eventType (rare) + endpointId',
      { tenantId: p.big, eventType: p.rareType, endpointId: p.hotEndpoint },
    ],
    ['tenant + status=failed + since/until', { tenantId: p.big, statuses: ['failed'], ...day }],
    [
      'tenant + eventType + endpointId',
      { tenantId: p.big, eventType: p.commonType, endpointId: p.hotEndpoint },
    ],
    [
      'tenant + every filter but eventId',
      {
        tenantId: p.big,
        statuses: ['failed', 'succeeded'],
        eventType: p.commonType,
        endpointId: p.hotEndpoint,
        since: p.weekSince,
      },
    ],
    ['admin: all tenants', {}],
    ['admin: status=failed', { statuses: ['failed'] }],
    ['admin: status=paused (rare)', { statuses: ['paused'] }],
    ['admin: status=pending (rare, recent)', { statuses: ['pending'] }],
    ['admin: status=pending + eventType', { statuses: ['pending'], eventType: p.commonType }],
    ['admin: eventType (rare)', { eventType: p.rareType }],
    ['admin: endpointId', { endpointId: p.hotEndpoint }],
    ['admin: eventId', { eventId: p.eventId }],
    ['admin: since/until (1 day)', day],
    ['admin: status=failed + since/until', { statuses: ['failed'], ...day }],
  ].filter(([name]) => !ONLY || name.includes(ONLY));
}

/** The cursor a user would hold deep in the list: the id at half the matches (at most DEEP_MAX rows down). */
async function deepCursor(db, filter) {
  const { sql, params } = deliveryLogQuery(filter, DEEP_MAX * 2 + 1);
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM (${sql}) x`, params);
  const depth = Math.floor(rows[0].n / 2);
  if (depth < PAGE) return null;
  const q = deliveryLogQuery(filter, depth);
  const last = await db.query(`SELECT id FROM (${q.sql}) x ORDER BY id ASC LIMIT 1`, q.params);
  return { id: last.rows[0].id, depth };
}

/**
 * The plan's top node, its scans, and whether the page is an ordered index scan that stops at
 * LIMIT: no bitmap scans, no sequential scans, and no Sort, except over one event's few deliveries
 * (read as a bitmap of its primary key range and the legacy index: eventDeliveriesSql).
 */
function describePlan(plan) {
  const scans = [];
  let removed = 0;
  let sorts = 0;
  const walk = (node) => {
    // A subquery's rows (the walk by event type's) are not a scan of a table.
    if (/Scan/.test(node['Node Type']) && node['Node Type'] !== 'Subquery Scan') {
      scans.push(
        `${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}${node['Relation Name'] ? ` on ${node['Relation Name']}` : ''}`,
      );
    }
    if (node['Node Type'] === 'Sort') sorts++;
    removed += node['Rows Removed by Filter'] ?? 0;
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan.Plan);
  const top = plan.Plan;
  const unique = [...new Set(scans)];
  const eventLookup =
    unique.length === 3 &&
    unique.includes('Bitmap Index Scan using deliveries_pkey') &&
    unique.includes('Bitmap Index Scan using deliveries_legacy_event_idx');
  const indexScans = eventLookup || unique.every((s) => /^Index (Only )?Scan/.test(s));
  return {
    top: top['Node Type'],
    scans: unique,
    sorted: sorts > 0,
    removedByFilter: removed,
    buffers: (top['Shared Hit Blocks'] ?? 0) + (top['Shared Read Blocks'] ?? 0),
    orderedIndexScan: indexScans && (sorts === 0 || eventLookup),
  };
}

async function main() {
  const db = new Client({ connectionString: DATABASE_URL });
  await db.connect();
  const { rows: size } = await db.query(`SELECT count(*)::int AS n FROM deliveries`);
  const p = await pickParameters(db);
  process.stderr.write(`deliveries: ${size[0].n}; parameters: ${JSON.stringify(p)}\n`);
  const plans = [];
  const results = [];
  const measure = async (name, page, f) => {
    const { sql, params } = deliveryLogQuery(f, PAGE + 1);
    let rows = 0;
    const times = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const t = process.hrtime.bigint();
      const res = await db.query(sql, params);
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      rows = res.rowCount;
      if (i >= WARMUP) times.push(ms);
    }
    times.sort((a, b) => a - b);
    const [json] = (await db.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params))
      .rows[0]['QUERY PLAN'];
    const line = {
      query: name,
      page,
      rows,
      p50Ms: round(percentile(times, 50)),
      p99Ms: round(percentile(times, 99)),
      maxMs: round(times[times.length - 1]),
      ...describePlan(json),
    };
    results.push(line);
    process.stdout.write(JSON.stringify(line) + '\n');
    if (PLANS) {
      const text = (await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)).rows.map(
        (r) => r['QUERY PLAN'],
      );
      plans.push(`### ${name}: ${page} page\n\n\`\`\`\n${text.join('\n')}\n\`\`\`\n`);
    }
  };

  for (const [name, filter] of cases(p)) {
    const deep = await deepCursor(db, filter);
    await measure(name, 'first', filter);
    if (deep)
      await measure(name, `deep (${deep.depth} rows down)`, { ...filter, beforeId: deep.id });
  }

  if (BACKLOG > 0 && !ONLY) {
    // An outage: the newest BACKLOG succeeded deliveries turn pending at once, and ANALYZE has not
    // run yet, so the planner still believes pending is rare. Rolled back afterwards.
    await db.query('BEGIN');
    await db.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = now() + random() * interval '2 hours'
        WHERE id IN (SELECT id FROM deliveries WHERE status = 'succeeded' ORDER BY id DESC LIMIT $1)`,
      [BACKLOG],
    );
    const page = `first (${BACKLOG} new pending rows, stale statistics)`;
    await measure('admin: status=pending', page, { statuses: ['pending'] });
    await measure('admin: status=pending + eventType', page, {
      statuses: ['pending'],
      eventType: p.commonType,
    });
    await measure('tenant + status=pending', page, { tenantId: p.big, statuses: ['pending'] });
    await measure('tenant + status=pending + eventType', page, {
      tenantId: p.big,
      statuses: ['pending'],
      eventType: p.commonType,
    });
    await measure('tenant + status=failed,pending', page, {
      tenantId: p.big,
      statuses: ['failed', 'pending'],
    });
    await db.query('ROLLBACK');
  }
  await db.end();
  if (PLANS) {
    writeFileSync(
      PLANS,
      `# Delivery log plans (${size[0].n} deliveries)\n\nParameters: \`${JSON.stringify(p)}\`\n\n${plans.join('\n')}`,
    );
  }
  const worst = results.reduce((a, b) => (b.p99Ms > a.p99Ms ? b : a));
  const notIndex = results.filter((r) => !r.orderedIndexScan).map((r) => `${r.query} (${r.page})`);
  process.stderr.write(
    `worst p99: ${worst.p99Ms} ms (${worst.query}, ${worst.page}); not ordered index scans: ${notIndex.length ? notIndex.join('; ') : 'none'}\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`log-queries: ${e.stack || e}\n`);
  process.exit(1);
});
