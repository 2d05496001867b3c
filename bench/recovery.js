#!/usr/bin/env node
// An endpoint's backlog once it answers again. BENCH_ENDPOINTS endpoints (default 5) never answer
// while BENCH_EVENTS events (default 10,000) are triggered for them, and for BENCH_DEAD_SECONDS
// after (default 15: sweeps happen meanwhile); then their URLs are pointed at a healthy path (a
// PATCH, as an operator fixing an endpoint would) and the backlog drains. Prints one JSON line: how
// long the drain took, and how many deliveries the sweeper offered again while the endpoints were
// dead and while they drained (tern_sweeper_reenqueued_total).
//   npm run build && node bench/recovery.js
// Each endpoint's line in memory holds 2,000 while it fails; the rest waits in Postgres.
'use strict';
const lib = require('./lib');

const E = Number(process.env.BENCH_ENDPOINTS || 5);
const EVENTS = Number(process.env.BENCH_EVENTS || 10_000);
const DEAD_SECONDS = Number(process.env.BENCH_DEAD_SECONDS || 30);

/** tern_sweeper_reenqueued_total from /metrics. */
async function reenqueued(url) {
  const res = await fetch(`${url}/metrics`, {
    headers: { authorization: `Bearer ${lib.ADMIN_KEY}` },
  });
  const m = /^tern_sweeper_reenqueued_total(?:\{[^}]*\})? (\d+)/m.exec(await res.text());
  return m ? Number(m[1]) : 0;
}

(async () => {
  const receiver = await lib.startReceiver();
  const { tern, api, close } = await lib.freshTern('recovery', {
    DELIVERY_TIMEOUT_MS: '2000',
    RETRY_SCHEDULE: '1s,1s,1s,1s,1s,1s,1s,1s,1s,1s',
  });
  try {
    const endpoints = await lib.tenantWithEndpoints(
      api,
      'recovery',
      Array.from({ length: E }, (_, i) => `${receiver.url}/dead/${i}`),
    );
    const t0 = Date.now();
    await lib.ingest(api, 'recovery', EVENTS, 100, 512);
    const ingestSeconds = (Date.now() - t0) / 1000;
    await lib.sleep(DEAD_SECONDS * 1000);
    const whileDead = await reenqueued(tern.url);

    await receiver.reset();
    const t1 = Date.now();
    for (const [i, ep] of endpoints.entries())
      await api('PATCH', `/v1/tenants/recovery/endpoints/${ep.id}`, {
        url: `${receiver.url}/ok/${i}`,
      });
    const done = await lib.waitReceived(receiver, EVENTS * E, 600_000);
    const drainSeconds = (done.at - t1) / 1000;
    console.log(
      JSON.stringify({
        bench: 'recovery',
        endpoints: E,
        deliveries: EVENTS * E,
        ingestSeconds,
        deadSeconds: DEAD_SECONDS,
        drainSeconds,
        drainedPerSec: Math.round((EVENTS * E) / drainSeconds),
        duplicates: done.stats.total - done.stats.unique,
        sweeperReofferedWhileDead: whileDead,
        sweeperReofferedWhileDraining: (await reenqueued(tern.url)) - whileDead,
      }),
    );
  } finally {
    await close();
    await receiver.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
