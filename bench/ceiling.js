#!/usr/bin/env node
// The ceiling, in a process of its own: a bare undici loop that signs (Standard Webhooks) and POSTs
// payloads to the receiver with a fixed concurrency. Like each Tern run, it starts in a fresh
// process and gets the same discarded warm-up first (as many deliveries), so the two are compared
// on equal terms. Prints one JSON line. Run by bench/run.js:
//   node bench/ceiling.js <receiver url> <deliveries> <concurrency> <payload bytes> <paths> <warm-up>
'use strict';
const { createHmac } = require('node:crypto');
const { Agent, request } = require('undici');
const lib = require('./lib');

const [url, n, c, payloadBytes, paths, warmup] = process.argv.slice(2);
const N = Number(n);
const C = Number(c);
const PAYLOAD = Number(payloadBytes);
const PATHS = Number(paths);
const KEY = Buffer.alloc(32, 7);

async function loop(count) {
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const id = `evt_ceiling_${i}`;
      const body = JSON.stringify({
        id,
        type: 'bench.order',
        timestamp: new Date().toISOString(),
        data: lib.payload(PAYLOAD, i),
      });
      const ts = Math.floor(Date.now() / 1000);
      const sig = 'v1,' + createHmac('sha256', KEY).update(`${id}.${ts}.${body}`).digest('base64');
      const res = await request(`${url}/ceiling/${i % PATHS}`, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': sig,
        },
        body,
      });
      await res.body.text();
    }
  };
  await Promise.all(Array.from({ length: C }, lane));
  const seconds = (performance.now() - t0) / 1000;
  await agent.close();
  return count / seconds;
}

(async () => {
  if (Number(warmup) > 0) await loop(Number(warmup));
  console.log(JSON.stringify({ deliveries: N, deliveredPerSec: await loop(N) }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
