// The one error the client throws: a non-2xx answer (with the contract's error body) or, with status 0, no answer at all.
import type { ErrorBody } from './types';

export class TernApiError extends Error {
  /** HTTP status; 0 when no answer came (network failure or timeout). */
  readonly status: number;
  /** The status text (`Not Found`, ...), or `NetworkError` / `Timeout` when status is 0. */
  readonly error: string;
  /** For 400s: `[{field, message}]`, as the API sent them. */
  readonly details?: unknown;
  /** Seconds to wait before trying again, from `Retry-After` on 429 and 503. */
  readonly retryAfterSeconds?: number;
  /** The method and path that failed, e.g. `POST /v1/tenants/acme/events`. */
  readonly request: string;

  constructor(
    init: {
      status: number;
      error: string;
      message: string;
      details?: unknown;
      retryAfterSeconds?: number;
      request: string;
    },
    options?: { cause?: unknown },
  ) {
    super(init.message, options);
    this.name = 'TernApiError';
    this.status = init.status;
    this.error = init.error;
    this.details = init.details;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.request = init.request;
  }

  /** The contract's error body this error carries. */
  toJSON(): ErrorBody {
    const body: ErrorBody = { statusCode: this.status, error: this.error, message: this.message };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}
