// The retry schedule: pure functions that parse `RETRY_SCHEDULE` and compute when the next attempt is due.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses one duration such as `200ms`, `5m`, `2h`; throws on anything else. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration like 200ms, 30s, 5m or 2h`);
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2]]);
  if (ms <= 0) throw new Error(`"${text}" must be longer than zero`);
  return ms;
}

/** `1m,5m,30m,2h` -> [60000, 300000, 1800000, 7200000]: the waits before attempts 2, 3, ... */
export function parseRetrySchedule(text: string): number[] {
  const steps = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (steps.length === 0) throw new Error('needs at least one step, e.g. 1m,5m,30m,2h');
  return steps.map(parseDuration);
}

/** Total attempts a delivery gets: the first one plus one per schedule step. */
export function maxAttempts(schedule: number[]): number {
  return schedule.length + 1;
}

/** Up to +10% of the wait (at most 30 s), so retries of one outage do not arrive as one burst. */
export function jitter(waitMs: number, random: () => number = Math.random): number {
  return Math.floor(Math.min(waitMs * 0.1, 30_000) * random());
}

/**
 * Parses a Retry-After header (seconds or an HTTP date) into milliseconds from `now`; null when
 * absent or unreadable.
 */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now(),
): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/**
 * When the attempt after `attemptsMade` is due, or null when the schedule is exhausted.
 * A Retry-After (on 429/503) wins when it is later than the schedule, capped at the longest step.
 */
export function nextAttemptDelay(
  schedule: number[],
  attemptsMade: number,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): number | null {
  if (attemptsMade < 1 || attemptsMade > schedule.length) return null;
  const scheduled = schedule[attemptsMade - 1];
  let wait = scheduled + jitter(scheduled, random);
  if (retryAfterMs !== null && retryAfterMs > wait) {
    wait = Math.min(retryAfterMs, Math.max(...schedule));
  }
  return wait;
}
