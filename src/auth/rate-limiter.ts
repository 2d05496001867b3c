// A token bucket per API key, in process memory: `rate` requests a second with a burst of one second's worth.
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token for `key`; returns 0 when allowed, else the milliseconds until one is free. */
  take(key: string): number {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.rate, at: t };
    // A clock that steps back (NTP) refills nothing rather than draining the bucket.
    b.tokens = Math.min(this.rate, b.tokens + (Math.max(0, t - b.at) / 1000) * this.rate);
    b.at = Math.max(b.at, t);
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    if (this.buckets.size > 100_000) this.buckets.clear(); // bound memory against key spraying
    return Math.ceil(((1 - b.tokens) / this.rate) * 1000);
  }
}
