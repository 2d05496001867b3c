// Benchmark receiver: a minimal node:http server in its own process. Paths under /dead/ never
// answer (a hung endpoint); everything else gets 200 at once. It counts receipts per webhook-id and
// reports them to its parent over IPC. The parent may turn on a flaky mode (`{type: 'mode',
// resetEvery}`): then only one request in `resetEvery` is answered, the others have their connection
// reset before any answer (they are not counted as receipts).
'use strict';
const http = require('node:http');

const receipts = new Map(); // webhook-id -> [firstAtMs, count]
let total = 0;
const byPath = new Map();
let resetEvery = 0;
let seen = 0;
let resets = 0;

const server = http.createServer((req, res) => {
  const chunks = [];
  if (resetEvery > 0 && seen++ % resetEvery !== 0) {
    resets++;
    req.socket.destroy();
    return;
  }
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url.startsWith('/dead/')) return; // never answers: the sender must time out
    const id = req.headers['webhook-id'] || `n${total}`;
    const key = `${id}|${req.url}`;
    const r = receipts.get(key);
    if (r) r[1]++;
    else receipts.set(key, [Date.now(), 1]);
    total++;
    const p = req.url.split('/')[1];
    byPath.set(p, (byPath.get(p) || 0) + 1);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    res.end('ok');
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.maxConnections = 100_000;

server.listen(0, '127.0.0.1', () => {
  process.send({ type: 'ready', port: server.address().port });
});

process.on('message', (m) => {
  if (m.type === 'stats')
    process.send({
      type: 'stats',
      total,
      unique: receipts.size,
      resets,
      byPath: Object.fromEntries(byPath),
    });
  if (m.type === 'mode') {
    resetEvery = m.resetEvery || 0;
    seen = 0;
    process.send({ type: 'mode' });
  }
  if (m.type === 'reset') {
    receipts.clear();
    byPath.clear();
    total = 0;
    resets = 0;
    process.send({ type: 'reset' });
  }
  if (m.type === 'dump') process.send({ type: 'dump', receipts: [...receipts.entries()] });
  if (m.type === 'stop') server.close(() => process.exit(0));
});
