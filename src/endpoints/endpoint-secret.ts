// Endpoint signing secrets: `whsec_` + base64 of the HMAC key (Standard Webhooks). Pure code.
import { randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;

/** Padded standard base64, as Svix and the Standard Webhooks libraries write it. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A new secret: `whsec_` + base64 of 32 random bytes. */
export function newEndpointSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** Why a caller-supplied secret cannot be used, or null when it can. */
export function endpointSecretProblem(secret: unknown): string | null {
  const shape = `must be "${SECRET_PREFIX}" followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`;
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX)) return shape;
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (b64 === '' || !BASE64.test(b64)) return shape;
  const bytes = Buffer.from(b64, 'base64').length;
  if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) return `${shape} (got ${bytes} bytes)`;
  return null;
}
