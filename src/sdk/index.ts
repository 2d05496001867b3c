// `tern/sdk`: the API client, and verifyWebhook for receivers. Depends on Node alone (fetch, node:crypto).
export * from './client';
export * from './errors';
export * from './types';
export * from './verify-webhook';
export {
  DEFAULT_TOLERANCE_SECONDS,
  generateSecret,
  isValidSecret,
  sign,
  signatureHeader,
  verify as verifySignature,
  WebhookVerificationError,
} from '../signing/standard-webhooks';
export type { VerifyOptions, WebhookHeaders } from '../signing/standard-webhooks';
