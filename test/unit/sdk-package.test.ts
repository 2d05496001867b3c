// `tern/sdk` as a package: the exports entry resolves to the built client, which needs nothing but
// Node and its own files (src/sdk and src/signing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(__dirname, '..', '..', '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

test('package.json exports "./sdk" resolves (by package name too) to the built client', () => {
  const entry = pkg.exports['./sdk'];
  assert.equal(entry.default, './dist/src/sdk/index.js');
  assert.ok(existsSync(join(root, entry.default)), entry.default);
  assert.ok(existsSync(join(root, entry.types)), entry.types);
  // Self-reference through "exports", as `require('tern/sdk')` does in a dependent package.
  const req = createRequire(join(root, 'package.json'));
  assert.equal(req.resolve(`${pkg.name}/sdk`), join(root, 'dist', 'src', 'sdk', 'index.js'));
  const sdk = req(`${pkg.name}/sdk`);
  for (const name of ['Tern', 'TernApiError', 'verifyWebhook', 'WebhookVerificationError'])
    assert.equal(typeof sdk[name], 'function', name);
});

test('the built SDK requires only node: builtins and files under src/sdk and src/signing', () => {
  const allowed = [join(dist, 'src', 'sdk') + sep, join(dist, 'src', 'signing') + sep];
  const seen = new Set<string>();
  const problems: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/\brequire\(\s*(['"`])([^'"`]+)\1\s*\)/g)) {
      const spec = m[2];
      if (spec.startsWith('.')) {
        const target = require.resolve(resolve(dirname(file), spec));
        if (!allowed.some((dir) => target.startsWith(dir)))
          problems.push(`${relative(dist, file)} requires ${relative(dist, target)}`);
        else visit(target);
      } else if (!(spec.startsWith('node:') && isBuiltin(spec))) {
        problems.push(`${relative(dist, file)} requires the package ${spec}`);
      }
    }
    // A dynamic import would escape the scan above.
    if (/\bimport\(/.test(code)) problems.push(`${relative(dist, file)} uses import()`);
  };
  const sdkDir = join(dist, 'src', 'sdk');
  for (const f of readdirSync(sdkDir).filter((f) => f.endsWith('.js'))) visit(join(sdkDir, f));
  assert.deepEqual(problems, []);
  assert.ok(
    seen.has(join(dist, 'src', 'signing', 'standard-webhooks.js')),
    'reuses the signing file',
  );
});
