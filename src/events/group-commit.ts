// Group commit: submissions that arrive while a write is in flight are written together in the
// next one, so N concurrent triggers cost one transaction instead of N. A submission is all or
// nothing; when a shared write fails, its submissions are written again in halves, one half after
// the other, halving again whatever fails, so one bad submission fails only itself (alone), in
// about 2 log2(n) writes rather than n; unless the failure says retrying is no use (retryAlone:
// the database went away, or a failure every submission would meet alike): then every submission
// of that write gets that failure, which may say the write's outcome is unknown.

export interface GroupCommitOptions {
  /** Items (events) per write at the most. */
  maxItems: number;
  /** Writes in flight at once, at most. */
  maxInFlight: number;
  /**
   * When set, a write starts beside others in flight only once the waiting submissions fill a
   * write (maxItems), or once the latest write to start has taken this long (ms). Every write has
   * a cost of its own (a transaction, a commit's flush, round trips, a wake-up), so on a busy
   * machine fewer, larger writes take less CPU per item than writes in parallel; while fewer than
   * maxInFlight are in flight, slow writes hold the others up for this long at most, and each write
   * beside them still gathers what comes in for that long. Unset: a write starts whenever fewer
   * than maxInFlight are in flight. (A shared write that fails is written again in halves within its
   * own slot, one write at a time: see GroupCommit.run.)
   */
  overlapAfterMs?: number;
  /**
   * Whether a shared write's failure is worth retrying in smaller writes (default: yes).
   * A lost COMMIT must not be: a later retry's clean failure would hide that the first may have
   * committed.
   */
  retryAlone?: (err: unknown) => boolean;
}

interface Waiting<S, R> {
  submission: S;
  size: number;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<S, R> {
  private readonly queue: Waiting<S, R>[] = [];
  /** Items in `queue`. */
  private queued = 0;
  /** When each write in flight started (performance.now()), oldest first: one per write. */
  private readonly started: number[] = [];
  private scheduled = false;
  /** Wakes schedule() once the latest write to start has taken overlapAfterMs. */
  private overlapTimer: NodeJS.Timeout | null = null;

  constructor(
    /** Writes submissions together; returns one result per submission, in order. */
    private readonly write: (submissions: S[]) => Promise<R[]>,
    private readonly sizeOf: (s: S) => number,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(submission: S): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const size = this.sizeOf(submission);
      this.queue.push({ submission, size, resolve, reject });
      this.queued += size;
      this.schedule();
    });
  }

  /** Whether a write may start now (see maxInFlight and overlapAfterMs). */
  private mayStart(): boolean {
    const inFlight = this.started.length;
    if (inFlight === 0) return true;
    if (inFlight >= this.options.maxInFlight) return false;
    const after = this.options.overlapAfterMs;
    if (after === undefined || this.queued >= this.options.maxItems) return true;
    const wait = this.started[this.started.length - 1] + after - performance.now();
    if (wait <= 0) return true;
    this.overlapTimer ??= setTimeout(() => {
      this.overlapTimer = null;
      this.schedule();
    }, wait).unref();
    return false;
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || !this.mayStart()) return;
    // Wait one turn of the event loop so requests parsed in the same tick join this write.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.queue.length === 0 || !this.mayStart()) return;
    const group: Waiting<S, R>[] = [];
    let items = 0;
    while (
      this.queue.length > 0 &&
      (group.length === 0 || items + this.queue[0].size <= this.options.maxItems)
    ) {
      const w = this.queue.shift()!;
      items += w.size;
      group.push(w);
    }
    this.queued -= items;
    const start = performance.now();
    this.started.push(start);
    void this.run(group).finally(() => {
      this.started.splice(this.started.indexOf(start), 1); // equal times are interchangeable
      this.schedule();
    });
    this.schedule();
  }

  /**
   * Writes a group; if that fails, writes each half again, the first then the second, and so on
   * down to a submission alone, which then gets the failure. One bad submission among n costs about
   * 2 log2(n) writes, where writing each again alone cost n, all at once beside maxInFlight (a
   * failed write of 1,000 single events took 1,000 transactions and every pooled connection). The
   * halves run one after the other in the failed write's slot, so a failure never puts more than
   * maxInFlight writes in flight; the price is latency, about 2 log2(n) writes for the unlucky.
   */
  private async run(group: Waiting<S, R>[]): Promise<void> {
    try {
      const results = await this.write(group.map((w) => w.submission));
      group.forEach((w, i) => w.resolve(results[i]));
    } catch (e) {
      if (group.length === 1 || this.options.retryAlone?.(e) === false) {
        for (const w of group) w.reject(e);
        return;
      }
      // Someone's submission broke the shared write: find it by halves.
      const half = Math.ceil(group.length / 2);
      await this.run(group.slice(0, half));
      await this.run(group.slice(half));
    }
  }
}
