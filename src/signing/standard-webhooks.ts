// Standard Webhooks (https://www.standardwebhooks.com) signing and verification: pure, node:crypto only, shared by the dispatcher and the SDK.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** Default allowed clock skew between the signer and the verifier, both ways. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Thrown by `verify` when a delivery must not be trusted; `message` says why. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `whsec_` + canonical base64 of 24 to 64 bytes (the spec's bounds for a key). */
export function isValidSecret(secret: unknown): secret is string {
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX)) return false;
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(b64)) return false;
  const bytes = (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
  return bytes >= 24 && bytes <= 64;
}

// Decoding a secret costs more than the HMAC of a small body, and the dispatcher signs with the
// same few secrets over and over: keep the decoded keys, bounded so rotated-out secrets age out.
const KEY_CACHE_LIMIT = 1024;
const keyCache = new Map<string, Buffer>();

/** The HMAC key of a secret: the base64-decoded part after `whsec_` (the prefix is optional). */
export function secretKey(secret: string): Buffer {
  const cached = keyCache.get(secret);
  if (cached) return cached;
  if (typeof secret !== 'string') throw new TypeError('The webhook secret must be a string');
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  // Buffer.from(.., 'base64') silently skips junk; a mistyped secret should fail loudly instead.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64))
    throw new TypeError('The webhook secret is not "whsec_" followed by base64');
  const key = Buffer.from(b64, 'base64');
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(secret, key);
  return key;
}

function hmac(secret: string, msgId: string, timestampSeconds: number, body: string | Uint8Array) {
  // The body is fed as given: a Buffer is hashed as its bytes, never decoded and re-encoded.
  return createHmac('sha256', secretKey(secret))
    .update(`${msgId}.${timestampSeconds}.`)
    .update(body)
    .digest();
}

function checkSignedParts(msgId: string, timestampSeconds: number): void {
  if (typeof msgId !== 'string' || msgId === '')
    throw new TypeError('msgId must be a non-empty string');
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0)
    throw new TypeError('timestampSeconds must be whole unix seconds');
}

/** `v1,<base64 HMAC-SHA256 of "{msgId}.{timestampSeconds}.{body}">`. */
export function sign(
  secret: string,
  msgId: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  checkSignedParts(msgId, timestampSeconds);
  return `v1,${hmac(secret, msgId, timestampSeconds, body).toString('base64')}`;
}

/** The `webhook-signature` value: one entry per secret (current, then previous during rotation). */
export function signatureHeader(
  secrets: string[],
  msgId: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  const distinct = [...new Set(secrets.filter((s) => typeof s === 'string' && s !== ''))];
  if (distinct.length === 0) throw new TypeError('signatureHeader needs at least one secret');
  return distinct.map((s) => sign(s, msgId, timestampSeconds, body)).join(' ');
}

export type WebhookHeaders = Record<string, string | string[] | undefined> | Headers;

export interface VerifyOptions {
  /** Largest allowed distance between `webhook-timestamp` and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** "Now" in unix seconds (default: the clock); for tests and replays. */
  now?: number;
}

const HEADER_SETS = [
  ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
  ['svix-id', 'svix-timestamp', 'svix-signature'],
] as const;

function headerReader(headers: WebhookHeaders): (name: string) => string | undefined {
  if (typeof (headers as Headers)?.get === 'function') {
    const h = headers as Headers;
    return (name) => h.get(name) ?? undefined;
  }
  if (headers === null || typeof headers !== 'object')
    throw new TypeError('verify needs the request headers as an object or a Headers');
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    lower.set(k.toLowerCase(), Array.isArray(v) ? v.join(' ') : String(v));
  }
  return (name) => lower.get(name);
}

/**
 * Checks a delivery: its signature headers (`webhook-*`, or the `svix-*` aliases, any case) must be
 * present, its timestamp within the tolerance, and one `v1` entry must match `secret`. Pass the raw
 * body exactly as received. Throws WebhookVerificationError; returns nothing when it is genuine.
 */
export function verify(
  body: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string,
  opts: VerifyOptions = {},
): void {
  if (typeof body !== 'string' && !(body instanceof Uint8Array))
    throw new TypeError(
      'verify needs the raw request body (string or Buffer), not a parsed object: ' +
        "use e.g. express.raw({ type: 'application/json' }) on the webhook route",
    );
  const read = headerReader(headers);
  const names = HEADER_SETS.find((set) => set.some((n) => read(n) !== undefined)) ?? HEADER_SETS[0];
  const [msgId, timestamp, signatures] = names.map(read);
  const missing = names.filter((_, i) => ![msgId, timestamp, signatures][i]);
  if (missing.length > 0)
    throw new WebhookVerificationError(`Missing required header(s): ${missing.join(', ')}`);

  if (!/^\d{1,15}$/.test(timestamp!.trim()))
    throw new WebhookVerificationError(`Invalid ${names[1]} header: not unix seconds`);
  const ts = Number(timestamp!.trim());
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor(opts.now ?? Date.now() / 1000);
  // NaN would make both comparisons below false and silently switch replay protection off.
  if (!Number.isFinite(tolerance) || tolerance < 0)
    throw new TypeError('toleranceSeconds must be a number of seconds, 0 or more');
  if (!Number.isFinite(now)) throw new TypeError('now must be unix seconds');
  if (now - ts > tolerance)
    throw new WebhookVerificationError(
      `Message timestamp too old (${now - ts} s ago, tolerance ${tolerance} s)`,
    );
  if (ts - now > tolerance)
    throw new WebhookVerificationError(
      `Message timestamp too new (${ts - now} s ahead, tolerance ${tolerance} s)`,
    );

  const expected = Buffer.from(hmac(secret, msgId!, ts, body).toString('base64'));
  let matched = false;
  for (const entry of signatures!.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(entry.slice(comma + 1));
    // Every entry is compared (no early exit), each in constant time.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('No matching signature found');
}
