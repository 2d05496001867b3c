// The SSRF table: which addresses, in which forms, Tern refuses to connect to, and why.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddress, parseCidrs, parseHostAsIp } from '../../src/net/address-guard';

const NONE: string[] = [];

/** [address or numeric form, expected reason (regex) or 'allowed'] with no allowed ranges. */
const TABLE: [string, RegExp | 'allowed'][] = [
  // public unicast
  ['93.184.215.14', 'allowed'],
  ['8.8.8.8', 'allowed'],
  ['1.1.1.1', 'allowed'],
  ['2606:4700:4700::1111', 'allowed'],
  ['2a00:1450:4001:82a::200e', 'allowed'],
  ['::ffff:8.8.8.8', 'allowed'],
  ['64:ff9b::808:808', 'allowed'],
  ['2002:808:808::1', 'allowed'],
  ['172.32.0.1', 'allowed'],
  ['100.128.0.1', 'allowed'],
  ['198.20.0.1', 'allowed'],
  ['11.0.0.1', 'allowed'],
  // loopback
  ['127.0.0.1', /^loopback$/],
  ['127.255.255.254', /^loopback$/],
  ['::1', /^loopback$/],
  ['[::1]', /^loopback$/],
  // private
  ['10.0.0.1', /^private$/],
  ['10.255.255.255', /^private$/],
  ['172.16.0.1', /^private$/],
  ['172.31.255.255', /^private$/],
  ['192.168.1.1', /^private$/],
  ['fc00::1', /^private/],
  ['fd12:3456:789a::1', /^private/],
  // link-local, cloud metadata
  ['169.254.169.254', /^link-local \(cloud metadata\)$/],
  ['169.254.1.1', /^link-local$/],
  ['fe80::1', /^link-local$/],
  ['febf::1', /^link-local$/],
  ['fec0::1', /^site-local$/],
  // CGNAT, benchmarking
  ['100.64.0.1', /^carrier-grade NAT$/],
  ['100.127.255.255', /^carrier-grade NAT$/],
  ['198.18.0.1', /^benchmarking$/],
  ['198.19.255.255', /^benchmarking$/],
  ['2001:2::1', /^benchmarking$/],
  // multicast, broadcast
  ['224.0.0.1', /^multicast$/],
  ['239.255.255.250', /^multicast$/],
  ['ff02::1', /^multicast$/],
  ['255.255.255.255', /^broadcast$/],
  // reserved and documentation
  ['240.0.0.1', /^reserved$/],
  ['0.1.2.3', /^reserved/],
  ['192.0.0.8', /^reserved/],
  ['192.0.2.1', /^documentation$/],
  ['198.51.100.7', /^documentation$/],
  ['203.0.113.9', /^documentation$/],
  ['2001:db8::1', /^documentation$/],
  ['192.88.99.1', /^reserved/],
  ['100::1', /^reserved/],
  ['::127.0.0.1', /^reserved/],
  ['4000::1', /^reserved \(not global unicast\)$/],
  // unspecified
  ['0.0.0.0', /^unspecified$/],
  ['::', /^unspecified$/],
  // IPv4-mapped and translated IPv6
  ['::ffff:127.0.0.1', /^loopback \(IPv4-mapped of 127\.0\.0\.1\)$/],
  ['::ffff:7f00:1', /^loopback \(IPv4-mapped of 127\.0\.0\.1\)$/],
  ['[::ffff:127.0.0.1]', /^loopback/],
  ['::ffff:169.254.169.254', /^link-local \(cloud metadata\) \(IPv4-mapped/],
  ['::ffff:a00:1', /^private \(IPv4-mapped of 10\.0\.0\.1\)$/],
  ['0:0:0:0:0:ffff:c0a8:0101', /^private \(IPv4-mapped of 192\.168\.1\.1\)$/],
  ['::ffff:0:7f00:1', /^loopback \(IPv4-translated/],
  // NAT64
  ['64:ff9b::7f00:1', /^loopback \(NAT64 of 127\.0\.0\.1\)$/],
  ['64:ff9b::127.0.0.1', /^loopback \(NAT64/],
  ['64:ff9b::a9fe:a9fe', /^link-local \(cloud metadata\) \(NAT64 of 169\.254\.169\.254\)$/],
  ['64:ff9b:1::7f00:1', /^loopback \(NAT64 of 127\.0\.0\.1\)$/],
  ['64:ff9b:1::808:808', 'allowed'],
  ['64:ff9b:1:7f00:1::', /^local-use NAT64/],
  // 6to4 and Teredo
  ['2002:7f00:1::1', /^loopback \(6to4 of 127\.0\.0\.1\)$/],
  ['2002:a9fe:a9fe::', /^link-local \(cloud metadata\) \(6to4/],
  ['2002:c0a8:101::1', /^private \(6to4 of 192\.168\.1\.1\)$/],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /^Teredo$/],
  ['2001::1', /^Teredo$/],
  // numeric host tricks: each names 127.0.0.1
  ['2130706433', /^loopback$/],
  ['0x7f000001', /^loopback$/],
  ['0x7f.1', /^loopback$/],
  ['0x7F.0.0.1', /^loopback$/],
  ['0177.0.0.1', /^loopback$/],
  ['017700000001', /^loopback$/],
  ['127.1', /^loopback$/],
  ['127.0.1', /^loopback$/],
  ['127.0.0.1.', /^loopback$/],
  ['0', /^unspecified$/],
  ['0xa9fea9fe', /^link-local \(cloud metadata\)$/],
  ['2852039166', /^link-local \(cloud metadata\)$/],
  // not addresses at all
  ['example.com', /^not an IP address$/],
  ['localhost', /^not an IP address$/],
  ['256.0.0.1', /^not an IP address$/],
  ['4294967296', /^not an IP address$/],
  ['1.2.3.4.5', /^not an IP address$/],
  ['fe80::1%eth0', /^not an IP address$/],
  ['[127.0.0.1]', /^not an IP address$/],
  ['', /^not an IP address$/],
];

describe('checkAddress with no allowed ranges', () => {
  test(`the table holds at least 30 addresses (${TABLE.length})`, () => {
    assert.ok(TABLE.length >= 30);
  });
  for (const [ip, expected] of TABLE) {
    test(`${ip || '(empty)'} -> ${expected === 'allowed' ? 'allowed' : expected.source}`, () => {
      const verdict = checkAddress(ip, NONE);
      if (expected === 'allowed') assert.deepEqual(verdict, { allowed: true });
      else {
        assert.equal(verdict.allowed, false, `${ip} should be refused`);
        assert.match((verdict as { reason: string }).reason, expected);
      }
    });
  }
});

describe('allowed ranges (ALLOWED_TARGET_CIDRS)', () => {
  const LOOPBACK = ['127.0.0.0/8'];
  test('127.0.0.0/8 opens loopback IPv4 in every form', () => {
    for (const ip of [
      '127.0.0.1',
      '127.9.9.9',
      '2130706433',
      '0x7f.1',
      '127.1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::7f00:1',
      '2002:7f00:1::1',
    ]) {
      assert.deepEqual(checkAddress(ip, LOOPBACK), { allowed: true }, ip);
    }
  });
  test('127.0.0.0/8 opens nothing else', () => {
    for (const ip of ['::1', '10.0.0.1', '169.254.169.254', '::ffff:10.0.0.1', '0.0.0.0']) {
      assert.equal(checkAddress(ip, LOOPBACK).allowed, false, ip);
    }
  });
  test('IPv6 ranges open IPv6 addresses', () => {
    assert.deepEqual(checkAddress('::1', ['::1/128']), { allowed: true });
    assert.deepEqual(checkAddress('fd00::5', ['fd00::/8']), { allowed: true });
    assert.equal(checkAddress('fe80::1', ['fd00::/8']).allowed, false);
  });
  test('an IPv4 address matches a range written in IPv4-mapped form', () => {
    assert.deepEqual(checkAddress('10.1.2.3', ['::ffff:10.0.0.0/104']), { allowed: true });
  });
  test('several ranges', () => {
    const cidrs = ['10.0.0.0/8', '192.168.0.0/16'];
    assert.equal(checkAddress('10.2.3.4', cidrs).allowed, true);
    assert.equal(checkAddress('192.168.7.7', cidrs).allowed, true);
    assert.equal(checkAddress('172.16.0.1', cidrs).allowed, false);
  });
  test('a malformed range is refused by name', () => {
    assert.throws(() => parseCidrs(['999.0.0.0/8']), /"999\.0\.0\.0\/8" is not a CIDR range/);
    assert.throws(() => checkAddress('1.1.1.1', ['nonsense']), /nonsense/);
  });
});

describe('parseHostAsIp reads hosts as WHATWG URL does', () => {
  const CASES: [string, string | null][] = [
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['0x', '0.0.0.0'],
    ['0', '0.0.0.0'],
    ['1.2.3.4', '1.2.3.4'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['[0:0:0:0:0:0:0:1]', '::1'],
    ['[2001:DB8::1]', '2001:db8::1'],
    ['example.com', null],
    ['1.2.3.foo', null],
    ['0x7g.1', null],
    ['08.1', null],
    ['256.1.1.1', null],
    ['1.2.3.256', null],
    ['1.2.65536', null],
    ['4294967296', null],
    ['1.2.3.4.5', null],
    ['[1.2.3.4]', null],
    ['[::1', null],
    ['fe80::1%25eth0', null],
    ['', null],
  ];
  for (const [host, expected] of CASES) {
    test(`${host || '(empty)'} -> ${expected}`, () => assert.equal(parseHostAsIp(host), expected));
  }

  test('agrees with WHATWG URL on every numeric form it accepts', () => {
    for (const [host, expected] of CASES) {
      if (expected === null || host.includes('[') || host.includes(':')) continue;
      assert.equal(new URL(`http://${host}/`).hostname, expected, host);
    }
  });
});
