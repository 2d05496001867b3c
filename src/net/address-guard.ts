// The SSRF address guard: decides whether Tern may connect to an IP address. Pure code, no framework.
// An address is refused when it is not ordinary public unicast (loopback, private, link-local,
// CGNAT, ...); IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by it.
import ipaddr from 'ipaddr.js';

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

type Addr = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Addr, number];

const ALLOWED: AddressVerdict = { allowed: true };
const refuse = (reason: string): AddressVerdict => ({ allowed: false, reason });

const cidr = (text: string): Cidr => ipaddr.parseCIDR(text);

// Checked in order: the first range that holds the address names the reason, so the more
// specific ranges come before the ones that contain them.
const IPV4_REFUSED: [Cidr, string][] = [
  [cidr('0.0.0.0/32'), 'unspecified'],
  [cidr('255.255.255.255/32'), 'broadcast'],
  [cidr('0.0.0.0/8'), 'reserved ("this network")'],
  [cidr('10.0.0.0/8'), 'private'],
  [cidr('100.64.0.0/10'), 'carrier-grade NAT'],
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('169.254.169.254/32'), 'link-local (cloud metadata)'],
  [cidr('169.254.0.0/16'), 'link-local'],
  [cidr('172.16.0.0/12'), 'private'],
  [cidr('192.0.0.0/24'), 'reserved (IETF protocol assignments)'],
  [cidr('192.0.2.0/24'), 'documentation'],
  [cidr('192.88.99.0/24'), 'reserved (6to4 relay anycast)'],
  [cidr('192.168.0.0/16'), 'private'],
  [cidr('198.18.0.0/15'), 'benchmarking'],
  [cidr('198.51.100.0/24'), 'documentation'],
  [cidr('203.0.113.0/24'), 'documentation'],
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('240.0.0.0/4'), 'reserved'],
];

const IPV6_REFUSED: [Cidr, string][] = [
  [cidr('::/128'), 'unspecified'],
  [cidr('::1/128'), 'loopback'],
  [cidr('100::/64'), 'reserved (discard prefix)'],
  [cidr('2001::/32'), 'Teredo'],
  [cidr('2001:2::/48'), 'benchmarking'],
  [cidr('2001:db8::/32'), 'documentation'],
  [cidr('3fff::/20'), 'documentation'],
  [cidr('2001::/23'), 'reserved (IETF protocol assignments)'],
  [cidr('fc00::/7'), 'private (unique local)'],
  [cidr('fe80::/10'), 'link-local'],
  [cidr('fec0::/10'), 'site-local'],
  [cidr('ff00::/8'), 'multicast'],
];

// Only 2000::/3 is global unicast; anything else left after the checks above is not a target.
const GLOBAL_UNICAST = cidr('2000::/3');

// IPv6 forms whose last 32 bits are an IPv4 address the packet really goes to.
const IPV4_MAPPED = cidr('::ffff:0:0/96');
const IPV4_TRANSLATED = cidr('::ffff:0:0:0/96'); // RFC 6145 (SIIT)
const NAT64 = cidr('64:ff9b::/96'); // RFC 6052 well-known prefix
const NAT64_LOCAL = cidr('64:ff9b:1::/48'); // RFC 8215 local-use prefix
const SIX_TO_FOUR = cidr('2002::/16'); // RFC 3056: the IPv4 address is in bits 16..47

const inRange = (a: Addr, [net, bits]: Cidr) => a.kind() === net.kind() && a.match(net, bits);

const v4FromWords = (hi: number, lo: number) =>
  new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);

// --- host parsing -------------------------------------------------------------------------------

/** One part of a WHATWG/inet_aton IPv4 address: decimal, 0x-hex or 0-octal. Null when not a number. */
function parseIPv4Part(part: string): number | null {
  if (part === '') return null;
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(digits)) {
    digits = digits.slice(2);
    radix = 16;
  } else if (digits.length > 1 && digits.startsWith('0')) {
    digits = digits.slice(1);
    radix = 8;
  }
  if (digits === '') return 0; // "0x" alone is 0, as in WHATWG URL
  const shape = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!shape.test(digits)) return null;
  return parseInt(digits, radix);
}

/** WHATWG URL's IPv4 parser (the same forms inet_aton accepts): 1 to 4 parts, the last fills the rest. */
function parseIPv4(host: string): string | null {
  const parts = host.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // trailing dot
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers: number[] = [];
  for (const p of parts) {
    const n = parseIPv4Part(p);
    if (n === null) return null;
    numbers.push(n);
  }
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255)) return null;
  if (last >= 256 ** (4 - numbers.length)) return null;
  let value = last;
  numbers.forEach((n, i) => (value += n * 256 ** (3 - i)));
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/**
 * Canonical IPv6 text, by WHATWG URL's own parser: ipaddr.js reads `::1.2.3.4` as IPv4-mapped,
 * which is not the address a socket would use. Zone ids (`fe80::1%eth0`) are refused.
 */
function parseIPv6(host: string): string | null {
  if (!/^[0-9a-f:.]+$/i.test(host)) return null;
  let hostname: string;
  try {
    hostname = new URL(`http://[${host}]/`).hostname;
  } catch {
    return null;
  }
  const canonical = hostname.slice(1, -1);
  return ipaddr.IPv6.isValid(canonical) ? ipaddr.IPv6.parse(canonical).toRFC5952String() : null;
}

/**
 * The canonical IP address a URL host names, or null when the host is a name to resolve.
 * Understands what WHATWG URL and inet_aton accept: `2130706433`, `0x7f.1`, `0177.0.0.1`,
 * `127.1`, `127.0.0.1.`, and bracketed or bare IPv6 (`[::1]`). IPv6 with a zone id is not an
 * address Tern will use: null.
 */
export function parseHostAsIp(host: string): string | null {
  if (typeof host !== 'string' || host === '') return null;
  let h = host;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  else if (h.startsWith('[') || h.endsWith(']')) return null;
  if (h.includes(':')) return parseIPv6(h);
  if (h !== host) return null; // brackets around something that is not IPv6
  return parseIPv4(h);
}

// --- allowed ranges ------------------------------------------------------------------------------

const compiled = new Map<string, Cidr[]>();

/** Parses ALLOWED_TARGET_CIDRS entries; throws naming the first one that is not a CIDR range. */
export function parseCidrs(list: string[]): Cidr[] {
  const key = list.join(',');
  const cached = compiled.get(key);
  if (cached) return cached;
  const out = list.map((c) => {
    try {
      return ipaddr.parseCIDR(c.trim());
    } catch {
      throw new Error(`allowed target range "${c}" is not a CIDR range like 127.0.0.0/8`);
    }
  });
  compiled.set(key, out);
  return out;
}

function isAllowedByCidr(a: Addr, allowed: Cidr[]): boolean {
  return allowed.some(([net, bits]) => {
    if (net.kind() === a.kind()) return a.match(net, bits);
    // An IPv4 address also matches IPv6 ranges written in IPv4-mapped form (::ffff:a.b.c.d/104).
    if (a.kind() === 'ipv4' && net.kind() === 'ipv6')
      return (a as ipaddr.IPv4).toIPv4MappedAddress().match(net, bits);
    return false;
  });
}

// --- the verdict --------------------------------------------------------------------------------

function judgeEmbedded(v4: ipaddr.IPv4, form: string, allowed: Cidr[]): AddressVerdict {
  const verdict = judge(v4, allowed);
  if (verdict.allowed) return verdict;
  return refuse(`${verdict.reason} (${form} of ${v4.toString()})`);
}

function judge(a: Addr, allowed: Cidr[]): AddressVerdict {
  if (isAllowedByCidr(a, allowed)) return ALLOWED;
  if (a.kind() === 'ipv4') {
    const hit = IPV4_REFUSED.find(([range]) => inRange(a, range));
    return hit ? refuse(hit[1]) : ALLOWED;
  }
  const v6 = a as ipaddr.IPv6;
  const p = v6.parts;
  if (inRange(v6, IPV4_MAPPED)) return judgeEmbedded(v6.toIPv4Address(), 'IPv4-mapped', allowed);
  if (inRange(v6, IPV4_TRANSLATED))
    return judgeEmbedded(v4FromWords(p[6], p[7]), 'IPv4-translated', allowed);
  if (inRange(v6, NAT64)) return judgeEmbedded(v4FromWords(p[6], p[7]), 'NAT64', allowed);
  if (inRange(v6, NAT64_LOCAL)) {
    // RFC 6052 allows several layouts inside a local-use prefix; only the /96 one (middle bits
    // zero, IPv4 in the last 32 bits) says for sure which IPv4 address is meant.
    if (p[3] !== 0 || p[4] !== 0 || p[5] !== 0)
      return refuse('local-use NAT64 with an unknown layout');
    return judgeEmbedded(v4FromWords(p[6], p[7]), 'NAT64', allowed);
  }
  if (inRange(v6, SIX_TO_FOUR)) {
    const verdict = judgeEmbedded(v4FromWords(p[1], p[2]), '6to4', allowed);
    if (!verdict.allowed) return verdict;
  }
  const hit = IPV6_REFUSED.find(([range]) => inRange(v6, range));
  if (hit) return refuse(hit[1]);
  if (!inRange(v6, GLOBAL_UNICAST)) return refuse('reserved (not global unicast)');
  return ALLOWED;
}

/**
 * May Tern connect to `ip`? `allowedCidrs` (ALLOWED_TARGET_CIDRS) opens ranges that would
 * otherwise be refused; an IPv4-mapped address is matched against IPv4 ranges by its IPv4 form.
 * Numeric host forms (`2130706433`, `0x7f.1`, `[::1]`) are read as the address they name.
 */
export function checkAddress(ip: string, allowedCidrs: string[]): AddressVerdict {
  const canonical = parseHostAsIp(ip);
  if (canonical === null) return refuse('not an IP address');
  return judge(ipaddr.parse(canonical), parseCidrs(allowedCidrs));
}
