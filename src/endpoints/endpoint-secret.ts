// Endpoint signing secrets: `whsec_` + base64 of the HMAC key (Standard Webhooks). The rules live in
// the signing module; this file only words them for the API.
import { generateSecret, isValidSecret, SECRET_PREFIX } from '../signing/standard-webhooks';

export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;

/** A new secret: `whsec_` + base64 of 32 random bytes. */
export const newEndpointSecret = generateSecret;

/** Why a caller-supplied secret cannot be used, or null when it can. */
export function endpointSecretProblem(secret: unknown): string | null {
  if (isValidSecret(secret)) return null;
  const shape = `must be "${SECRET_PREFIX}" followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`;
  if (typeof secret === 'string' && secret.startsWith(SECRET_PREFIX)) {
    const b64 = secret.slice(SECRET_PREFIX.length);
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(b64) && b64.length % 4 === 0) {
      return `${shape} (got ${Buffer.from(b64, 'base64').length} bytes)`;
    }
  }
  return shape;
}
