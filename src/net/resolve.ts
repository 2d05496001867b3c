// Resolves a target host and vets every address it resolves to, when an endpoint is saved and
// (through createGuardedLookup) at connect time, so the socket goes to exactly what was vetted.
import { promises as dns, LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { AddressVerdict, checkAddress, parseHostAsIp } from './address-guard';

export interface VettedAddress {
  address: string;
  family: 4 | 6;
}

/** Why a target cannot be connected to: `refused` by the address guard, or `unresolvable`. */
export class TargetError extends Error {
  readonly code: 'ETARGETREFUSED' | 'ENOTFOUND';
  constructor(
    readonly kind: 'refused' | 'unresolvable',
    message: string,
  ) {
    super(message);
    this.name = 'TargetError';
    this.code = kind === 'refused' ? 'ETARGETREFUSED' : 'ENOTFOUND';
  }
}

/** `dns.promises.lookup` with `{all: true}`; replaceable in tests. */
export type LookupAll = (host: string) => Promise<LookupAddress[]>;

const systemLookup: LookupAll = (host) => dns.lookup(host, { all: true, verbatim: true });

const NOT_AN_IP: AddressVerdict = { allowed: false, reason: 'not an IP address' };

const bare = (host: string) =>
  host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;

/**
 * When `host` is an IP address (in any numeric form), vets it and returns it canonical; throws a
 * refused TargetError when it is not allowed. Returns null for a name, which needs resolving.
 * The sender needs this for literal hosts: `net.connect` never calls `lookup` for an IP.
 */
export function vetLiteralHost(host: string, allowedCidrs: string[]): VettedAddress | null {
  const ip = parseHostAsIp(host);
  if (ip === null) return null;
  const verdict = checkAddress(ip, allowedCidrs);
  if (!verdict.allowed)
    throw new TargetError('refused', `target ${ip} (${verdict.reason}) is not allowed`);
  return { address: ip, family: ip.includes(':') ? 6 : 4 };
}

/**
 * Every address `host` resolves to, vetted. If ANY of them is refused the whole host is refused
 * (a name that also points inside the network could be steered there). Literal IPs skip DNS.
 */
export async function resolveAndVet(
  host: string,
  allowedCidrs: string[],
  lookup: LookupAll = systemLookup,
): Promise<VettedAddress[]> {
  const literal = vetLiteralHost(host, allowedCidrs);
  if (literal) return [literal];
  const name = bare(host);
  let found: LookupAddress[];
  try {
    found = await lookup(name);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new TargetError('unresolvable', `target ${name} could not be resolved (${code})`);
  }
  if (found.length === 0)
    throw new TargetError('unresolvable', `target ${name} resolved to no address`);
  const vetted: VettedAddress[] = [];
  for (const { address } of found) {
    const ip = parseHostAsIp(address);
    const verdict = ip === null ? NOT_AN_IP : checkAddress(ip, allowedCidrs);
    if (!verdict.allowed)
      throw new TargetError(
        'refused',
        `target ${name} resolves to ${address} (${verdict.reason}), which is not allowed`,
      );
    vetted.push({ address: ip!, family: ip!.includes(':') ? 6 : 4 });
  }
  return vetted;
}

function wantedFamily(family: number | string | undefined): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/**
 * A `net.LookupFunction` for undici's `connect: {lookup}` (or `net.connect({lookup})`): resolves,
 * vets every address with resolveAndVet, and hands the socket only vetted addresses, so a DNS
 * answer cannot change between the check and the connect. Honours `options.all` and
 * `options.family`. Note `net.connect` does not call lookup for a literal IP: vet those with
 * vetLiteralHost before sending.
 */
export function createGuardedLookup(
  allowedCidrs: string[],
  lookup: LookupAll = systemLookup,
): LookupFunction {
  return (hostname, options, callback) => {
    resolveAndVet(hostname, allowedCidrs, lookup).then(
      (vetted) => {
        const family = wantedFamily(options?.family);
        const usable = family === 0 ? vetted : vetted.filter((a) => a.family === family);
        if (usable.length === 0) {
          const err = new TargetError(
            'unresolvable',
            `target ${hostname} has no IPv${family} address`,
          );
          callback(err, options?.all ? [] : '', family || undefined);
          return;
        }
        if (options?.all) callback(null, usable);
        else callback(null, usable[0].address, usable[0].family);
      },
      (err: TargetError) => callback(err, options?.all ? [] : '', undefined),
    );
  };
}
