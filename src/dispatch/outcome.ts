// The delivery state machine after one attempt, as a pure function: what the row becomes, when it
// is next due, and whether the endpoint must be disabled or an alert raised.
import { nextAttemptDelay } from './retry-schedule';

export interface AttemptResult {
  /** HTTP status, or null when no response arrived (timeout, refused, reset, DNS, TLS, SSRF). */
  statusCode: number | null;
  retryAfterMs: number | null;
}

export interface DeliveryState {
  /** Attempts made, including the one just finished. */
  attempts: number;
  maxAttempts: number;
  manualRetry: boolean;
  isAlert: boolean;
}

export type NextStatus = 'succeeded' | 'pending' | 'failed' | 'paused';

export interface Outcome {
  status: NextStatus;
  /** Milliseconds from now until the next attempt, when status is pending. */
  retryInMs: number | null;
  /** Set when this attempt's answer disables the endpoint at once (410 Gone). */
  disableEndpoint: string | null;
  /** True when the schedule ran out on this attempt: counts towards ENDPOINT_DISABLE_AFTER. */
  exhausted: boolean;
  /** True when a `tern.delivery.failed` alert must be raised. */
  raiseAlert: boolean;
}

export const isSuccess = (code: number | null): boolean =>
  code !== null && code >= 200 && code < 300;

export function decideOutcome(
  result: AttemptResult,
  state: DeliveryState,
  schedule: number[],
  random: () => number = Math.random,
): Outcome {
  if (isSuccess(result.statusCode)) {
    return {
      status: 'succeeded',
      retryInMs: null,
      disableEndpoint: null,
      exhausted: false,
      raiseAlert: false,
    };
  }
  if (result.statusCode === 410) {
    // Gone: the receiver asked us to stop. The endpoint is disabled, this delivery waits paused.
    return {
      status: 'paused',
      retryInMs: null,
      disableEndpoint: 'endpoint answered 410 Gone',
      exhausted: false,
      raiseAlert: false,
    };
  }
  const honourRetryAfter = result.statusCode === 429 || result.statusCode === 503;
  const delay =
    state.attempts < state.maxAttempts
      ? nextAttemptDelay(
          schedule,
          Math.min(state.attempts, schedule.length),
          honourRetryAfter ? result.retryAfterMs : null,
          random,
        )
      : null;
  if (delay !== null) {
    // A retry. If the endpoint is disabled when the result is written, it waits paused instead:
    // the result write reads the endpoint then (DeliveryClaimsService.record), not as it was at
    // the claim, so one re-enabled during the attempt retries.
    return {
      status: 'pending',
      retryInMs: delay,
      disableEndpoint: null,
      exhausted: false,
      raiseAlert: false,
    };
  }
  const scheduled = !state.manualRetry;
  return {
    status: 'failed',
    retryInMs: null,
    disableEndpoint: null,
    exhausted: scheduled && !state.isAlert,
    raiseAlert: scheduled && !state.isAlert,
  };
}
