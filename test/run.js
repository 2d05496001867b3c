#!/usr/bin/env node
// Runs the compiled test files (dist/test/**/*.test.js) with node's test runner and ends with one
// line `N passed, N failed`. `npm test -- <substring>` runs only the files whose path contains it.
'use strict';
const { spawn } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..', 'dist', 'test');
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

const files = walk(root)
  .filter(
    (f) =>
      filters.length === 0 ||
      filters.some((s) =>
        relative(root, f).includes(s.replace(/\.ts$/, '').replace(/^test\//, '')),
      ),
  )
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const concurrency = process.env.TEST_CONCURRENCY || '2';
const child = spawn(
  process.execPath,
  [
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    '--test-timeout=180000',
    ...files,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'test' } },
);
// The spec reporter's summary lines (`ℹ pass 12`) come before its list of failures: keep the last
// value of each wherever it falls in the output.
const totals = {};
let partial = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk.toString()).split('\n');
  partial = lines.pop();
  for (const line of lines) {
    const m = /^ℹ (pass|fail|cancelled) (\d+)$/.exec(line.trim());
    if (m) totals[m[1]] = Number(m[2]);
  }
});
child.on('close', (code) => {
  const count = (name) => totals[name] ?? 0;
  const passed = count('pass');
  let failed = count('fail') + count('cancelled');
  if (code !== 0 && failed === 0) failed = 1; // the runner itself failed
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
});
