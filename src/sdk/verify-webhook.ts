// For receivers: checks a Tern delivery's Standard Webhooks signature, then returns the event it carries.
import {
  DEFAULT_TOLERANCE_SECONDS,
  verify,
  WebhookHeaders,
  WebhookVerificationError,
} from '../signing/standard-webhooks';
import type { WebhookEvent } from './types';

export interface VerifyWebhookOptions {
  /** Largest allowed distance between `webhook-timestamp` and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** "Now" in unix seconds (default: the clock); for tests and replays. */
  now?: number;
}

/**
 * Verifies a delivery and returns its event `{id, type, timestamp, data}`. `rawBody` must be the
 * body exactly as received (string or Buffer), not a re-serialised parsed object. `secret` is the
 * endpoint's `whsec_...`. Throws WebhookVerificationError when the delivery must not be trusted.
 */
export function verifyWebhook<TData = Record<string, unknown>>(
  rawBody: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string,
  { toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now }: VerifyWebhookOptions = {},
): WebhookEvent<TData> {
  verify(rawBody, headers, secret, { toleranceSeconds, now });
  let event: unknown;
  try {
    event = JSON.parse(typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody));
  } catch {
    throw new WebhookVerificationError('The signed body is not JSON');
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event))
    throw new WebhookVerificationError('The signed body is not a webhook event object');
  return event as WebhookEvent<TData>;
}
