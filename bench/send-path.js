#!/usr/bin/env node
// The send path alone: client CPU per POST of Tern's sendWebhook (this build's dist/, undici's
// dispatch API through the guarded Agent, deadline and 64 KiB cap) against a bare undici request()
// loop with an AbortController deadline and the body read as a stream, which is how Tern sent
// before. Same headers, body and receiver (bench/receiver.js), concurrency 64; two rounds, the
// order swapped in the second. Every sendWebhook waits on one shutdown signal, as the dispatcher's do.
//   npm run build && node bench/send-path.js [--n 40000] [--c 64]
'use strict';
const { Agent, request } = require('undici');
const { join } = require('node:path');
const lib = require('./lib');

const i = process.argv.indexOf('--n');
const N = i > 0 ? Number(process.argv[i + 1]) : 40_000;
const j = process.argv.indexOf('--c');
const C = j > 0 ? Number(process.argv[j + 1]) : 64;
const { createDeliveryAgent, sendWebhook } = require(
  join(__dirname, '..', 'dist', 'src', 'dispatch', 'sender'),
);
const body = JSON.stringify({ id: 'evt_x', type: 'bench.order', data: lib.payload(512, 1) });
const headers = {
  'content-type': 'application/json',
  'webhook-id': 'evt_x',
  'webhook-timestamp': '1700000000',
  'webhook-signature': 'v1,abc',
  'x-webhook-event': 'bench.order',
};

async function viaRequest(agent, url) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 15_000);
  try {
    const res = await request(url, {
      method: 'POST',
      headers,
      body,
      dispatcher: agent,
      signal: ac.signal,
    });
    for await (const _ of res.body); // eslint-disable-line no-unused-vars
    return res.statusCode;
  } finally {
    clearTimeout(timer);
  }
}

async function measure(name, send) {
  let next = 0;
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) {
        next++;
        await send();
      }
    }),
  );
  const u = process.cpuUsage(u0);
  return {
    path: name,
    clientCpuUsPerPost: Math.round((u.user + u.system) / N),
    postsPerSec: Math.round(N / ((performance.now() - t0) / 1000)),
  };
}

(async () => {
  const receiver = await lib.startReceiver();
  const url = `${receiver.url}/ok/send-path`;
  try {
    const bare = async () => {
      const agent = new Agent({ keepAliveTimeout: 10_000 });
      console.log(JSON.stringify(await measure('undici request()', () => viaRequest(agent, url))));
      await agent.close();
    };
    const tern = async () => {
      const agent = createDeliveryAgent({
        connectTimeoutMs: 5_000,
        deliveryTimeoutMs: 15_000,
        allowedCidrs: ['127.0.0.0/8'],
      });
      const shutdown = new AbortController();
      require('node:events').setMaxListeners(0, shutdown.signal);
      const req = { url, headers, body, timeoutMs: 15_000, signal: shutdown.signal };
      console.log(
        JSON.stringify(
          await measure('Tern sendWebhook', () => sendWebhook(agent, req, ['127.0.0.0/8'])),
        ),
      );
      await agent.close();
    };
    await bare();
    await tern();
    await tern();
    await bare();
  } finally {
    await receiver.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
