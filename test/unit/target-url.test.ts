// Endpoint URL normalisation: http(s) only, no credentials, canonical host, no default port or fragment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseTargetUrl } from '../../src/net/target-url';
import { TernError } from '../../src/common/errors';

function refused(raw: string, message: RegExp) {
  assert.throws(
    () => normaliseTargetUrl(raw),
    (e: unknown) =>
      e instanceof TernError &&
      e.code === 'invalid' &&
      Array.isArray(e.details) &&
      e.details[0].field === 'url' &&
      message.test(e.details[0].message),
    raw,
  );
}

test('keeps an ordinary URL, path and query as they are', () => {
  assert.deepEqual(normaliseTargetUrl('https://hooks.example.com/in/abc?x=1&y=2'), {
    url: 'https://hooks.example.com/in/abc?x=1&y=2',
    host: 'hooks.example.com',
    port: 443,
  });
});

test('lowercases the host, drops the default port and the fragment', () => {
  assert.deepEqual(normaliseTargetUrl('HTTPS://Hooks.EXAMPLE.com:443/Path#frag'), {
    url: 'https://hooks.example.com/Path',
    host: 'hooks.example.com',
    port: 443,
  });
  assert.deepEqual(normaliseTargetUrl('http://example.com:80'), {
    url: 'http://example.com/',
    host: 'example.com',
    port: 80,
  });
});

test('keeps a non-default port', () => {
  assert.deepEqual(normaliseTargetUrl('http://example.com:8080/x'), {
    url: 'http://example.com:8080/x',
    host: 'example.com',
    port: 8080,
  });
  assert.equal(normaliseTargetUrl('https://example.com:80/').port, 80);
});

test('reads numeric hosts as the address they name', () => {
  for (const host of ['2130706433', '0x7f.1', '0177.0.0.1', '127.1', '0x7f000001']) {
    const t = normaliseTargetUrl(`http://${host}:9000/hook`);
    assert.equal(t.host, '127.0.0.1', host);
    assert.equal(t.url, 'http://127.0.0.1:9000/hook', host);
  }
});

test('IPv6 hosts come back bare in host and bracketed in the URL', () => {
  assert.deepEqual(normaliseTargetUrl('http://[::FFFF:127.0.0.1]:81/'), {
    url: 'http://[::ffff:7f00:1]:81/',
    host: '::ffff:7f00:1',
    port: 81,
  });
});

test('refuses other schemes', () => {
  for (const raw of [
    'ftp://example.com/',
    'file:///etc/passwd',
    'gopher://example.com/',
    'javascript:alert(1)',
    'ws://example.com/',
    'data:text/plain,hi',
  ]) {
    refused(raw, /must use http or https/);
  }
});

test('refuses credentials', () => {
  refused('https://user:pass@example.com/', /credentials/);
  refused('https://user@example.com/', /credentials/);
  refused('https://:secret@example.com/', /credentials/);
});

test('refuses port 0, where no server listens', () => {
  refused('http://127.0.0.1:0/', /port 0/);
  refused('https://example.com:00/hook', /port 0/);
  assert.equal(normaliseTargetUrl('https://example.com:1/').port, 1);
});

test('refuses what is not an absolute URL', () => {
  refused('example.com/hook', /not a valid absolute URL/);
  refused('/relative', /not a valid absolute URL/);
  refused('http://', /not a valid absolute URL/);
  refused('http://256.1.1.1/', /not a valid absolute URL/);
  refused('http://[::1/', /not a valid absolute URL/);
  refused('', /non-empty/);
  refused(42 as unknown as string, /non-empty string/);
});

test('refuses whitespace and control characters instead of silently stripping them', () => {
  refused(' https://example.com/', /spaces or control/);
  refused('https://exa\nmple.com/', /spaces or control/);
  refused('https://example.com/\t', /spaces or control/);
  refused('https://example.com/a b', /spaces or control/);
});

test('refuses URLs longer than 2048 characters', () => {
  const base = 'https://example.com/';
  assert.equal(normaliseTargetUrl(base + 'a'.repeat(2048 - base.length)).url.length, 2048);
  refused(base + 'a'.repeat(2049 - base.length), /at most 2048/);
  // grows past the limit once percent-encoded
  refused(base + 'é'.repeat(1000), /at most 2048 characters once normalised/);
});
