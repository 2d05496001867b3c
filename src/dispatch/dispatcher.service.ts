// The worker's engine. Deliveries offered by queue jobs and the sweeper wait here per endpoint;
// each endpoint gets a bounded number of sends at once (one while it keeps failing), so a dead
// endpoint cannot hold every slot. Claims and results are written in batches: one round trip
// claims many deliveries, one records many attempts. A healthy endpoint's next deliveries are
// claimed while its sends are still out, so a freed slot is filled at once instead of after a
// claim's round trip.
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Agent } from 'undici';
import { TERN_CONFIG, TernConfig } from '../config/config';
import {
  AttemptRecord,
  ClaimedDelivery,
  DeliveryClaimsService,
} from '../deliveries/delivery-claims.service';
import { signatureHeader } from '../signing/standard-webhooks';
import { decideOutcome, Outcome } from './outcome';
import { createDeliveryAgent, sendWebhook, SendResult } from './sender';
import { DeliveryOutcomes } from './delivery-outcomes.service';
import { RESERVED_HEADERS } from '../endpoints/header-rules';
import { MetricsService } from '../metrics/metrics.service';
import { isDependencyFailure } from '../common/http-error.filter';
import { deliveryIdPrefix, deliveryIdTail } from '../common/ids';
import type { EventGroup } from '../queue/delivery-queue';

/** Headers a receiver gets that an endpoint's own headers can never replace (checked at save, and again here). */
const RESERVED = new Set(RESERVED_HEADERS);

/** Deliveries waiting in unbounded lines before queue jobs are made to wait (backpressure). */
export const HIGH_WATER = 50_000;
/** Deliveries a parked endpoint's line holds at most; more are left in Postgres (see refill). */
export const LINE_LIMIT = 2_000;
/**
 * A rate-limited endpoint's line holds this many seconds of its sends (LINE_LIMIT at least,
 * HIGH_WATER at most); past that its deliveries wait in Postgres until it reads them (see refill).
 */
export const RATE_LINE_SECONDS = 60;
/**
 * An endpoint with sends out and none back for this long, and for four times its usual send (but
 * half DELIVERY_TIMEOUT_MS at most), is parked like a failing one (see parked): one that answered
 * before and then hangs is only known to fail once its attempts time out (15 s by default), and
 * until then its line would grow without bound and count for backpressure, holding every queue
 * job up. (One that has never answered is bounded from the start: see lineBound.)
 */
export const STALL_MS = 1_000;
/**
 * How long a delivery claimed ahead may wait for its endpoint's slot before it is given back: it
 * waits that long only behind slow sends, where claiming ahead gains nothing.
 */
const MAX_READY_MS = 1_000;
/**
 * Deliveries are claimed ahead only for an endpoint whose sends take less than this on average:
 * behind slower sends a claim's round trip is no delay worth hiding, and what was claimed would
 * only wait (and be given back after MAX_READY_MS).
 */
const AHEAD_MAX_SEND_MS = 100;
/**
 * How long an endpoint's last HTTP answer is remembered after its line is let go (an idle line is
 * deleted): within it, a new line starts answered and unbounded (see lineBound).
 */
const ANSWER_MEMORY_MS = 10 * 60_000;
/** Results per recording statement at most. */
const RECORD_BATCH = 500;
/** The error logged for an attempt cut short because its worker was stopping. */
export const INTERRUPTED_ATTEMPT = 'interrupted: the worker shut down before an answer came';

/** An attempt's result waiting to be written. */
interface PendingResult {
  record: AttemptRecord;
  claimed: ClaimedDelivery;
  outcome: Outcome;
  result: SendResult;
}

/**
 * A batch of results Postgres could not take (connection lost) is tried again for this long, at
 * most half the lease: a result written late still counts while its claim is ours, where a result
 * given up makes the sweeper send the delivery again once the lease expires.
 */
const RECORD_RETRY_MS = 10_000;

interface EndpointState {
  waiting: string[];
  /** Picked from `waiting`, their claim under way. */
  claiming: number;
  /** Claimed and waiting for a send slot (claimed ahead; see pumpLoop). */
  ready: { d: ClaimedDelivery; at: number }[];
  /** Attempts in flight to the receiver: at most the endpoint's limit. */
  sending: number;
  /** Recent attempts' duration, a moving average (ms); starts at AHEAD_MAX_SEND_MS. */
  sendMs: number;
  /** Consecutive failed attempts: while > 0 the endpoint gets one send at a time. */
  failing: number;
  /** When a send last came back, or went out while none was out (see parked). */
  progressAt: number;
  /**
   * An HTTP answer has come back from it since this line was made, or in the ANSWER_MEMORY_MS
   * before (see lineBound).
   */
  answered: boolean;
  rate: number | null;
  tokens: number;
  tokensAt: number;
  /** Offers were dropped for want of room (see offer): the line fetches them back (see refill). */
  dropped: boolean;
  /** Where the next refill starts (the last id the previous one read), or null for the first due. */
  refillAfter: string | null;
  /**
   * The next refill starts from the first pending delivery again: an offer was dropped below
   * refillAfter, or while a refill was under way.
   */
  rewind: boolean;
  refilling: boolean;
  /** No refill before this (after one failed). */
  refillAt: number;
}

type LineState = Pick<
  EndpointState,
  'failing' | 'sending' | 'progressAt' | 'sendMs' | 'rate' | 'answered'
>;

/** The least of some ids, in string order (ids sort by time). */
function least(ids: string[]): string {
  let first = ids[0];
  for (const id of ids) if (id < first) first = id;
  return first;
}

/**
 * Whether an endpoint is parked: it keeps failing, or it has sends out and none has come back for
 * STALL_MS and four times its usual send, or for half of `timeoutMs` (DELIVERY_TIMEOUT_MS): one
 * that never answers, before its first attempt has timed out. A slow one that has answered before
 * is given its own pace, up to half the timeout (sendMs also averages timed-out attempts).
 */
export function parked(s: LineState, now: number, timeoutMs: number): boolean {
  const stallMs = Math.max(STALL_MS, Math.min(4 * s.sendMs, timeoutMs / 2));
  return s.failing > 0 || (s.sending > 0 && now - s.progressAt > stallMs);
}

/**
 * How many deliveries an endpoint's line holds before further offers are left in Postgres (the
 * line reads them back as it drains: DispatcherService.refill), or null for no bound of its own. A
 * parked endpoint's line holds LINE_LIMIT, and so does the line of one that has given no HTTP
 * answer in ANSWER_MEMORY_MS (a new endpoint, or one quiet that long: one that never answers is
 * known to fail only once its first attempts stall or time out, and until then it would take every
 * offer); a rate-limited one's holds RATE_LINE_SECONDS of its sends (HIGH_WATER at most). None of
 * them drains faster for holding more, and none counts for backpressure, so none can hold the queue
 * jobs (and every other endpoint's new deliveries) up; each holds LINE_LIMIT in memory at most.
 * Other lines are bounded by backpressure instead (HIGH_WATER), and drain. What a line dropped is
 * read back once it is down to half its bound (LINE_LIMIT once it has none): behind a backlog that
 * keeps it fuller than that, after the newer deliveries it holds.
 */
export function lineBound(s: LineState, now: number, timeoutMs: number): number | null {
  if (!s.answered || parked(s, now, timeoutMs)) return LINE_LIMIT;
  if (s.rate !== null)
    return Math.min(HIGH_WATER, Math.max(LINE_LIMIT, Math.ceil(RATE_LINE_SECONDS * s.rate)));
  return null;
}

/**
 * Runs `work`, and runs it again while it fails because Postgres is unreachable (waiting 250 ms,
 * doubling to 2 s), until `giveUpAt` or until `keepTrying` says no; `onRetry` hears each failure
 * that is tried again. Any other failure, or the last one, is thrown.
 */
async function whileUnreachable<T>(
  work: () => Promise<T>,
  giveUpAt: number,
  keepTrying: () => boolean,
  onRetry: (e: Error) => void,
): Promise<T> {
  for (let wait = 250; ; wait = Math.min(2 * wait, 2_000)) {
    try {
      return await work();
    } catch (e) {
      if (!isDependencyFailure(e) || !keepTrying() || Date.now() + wait >= giveUpAt) throw e;
      onRetry(e as Error);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

export function buildHeaders(
  d: ClaimedDelivery,
  userAgent: string,
  nowSeconds: number,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(d.headers)) {
    if (!RESERVED.has(name.toLowerCase())) headers[name] = value;
  }
  headers['content-type'] = 'application/json';
  headers['user-agent'] = userAgent;
  headers['webhook-id'] = d.eventId;
  headers['webhook-timestamp'] = String(nowSeconds);
  headers['webhook-signature'] = signatureHeader(d.secrets, d.eventId, nowSeconds, d.body);
  headers['x-webhook-event'] = d.eventType;
  headers['x-webhook-delivery-id'] = d.id;
  headers['x-webhook-retry'] = String(d.attempt - 1);
  return headers;
}

@Injectable()
export class DispatcherService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(DispatcherService.name);
  private readonly agent: Agent;
  private readonly userAgent: string;
  private readonly endpoints = new Map<string, EndpointState>();
  /** When each endpoint last gave an HTTP answer (see ANSWER_MEMORY_MS), pruned once a minute. */
  private readonly answeredAt = new Map<string, number>();
  private prunedAt = Date.now();
  /** Ids waiting here or in flight: an offer of one of them again is a no-op. */
  private readonly known = new Set<string>();
  private waitingCount = 0;
  /** Attempts in flight, all endpoints: at most DISPATCH_CONCURRENCY. */
  private sending = 0;
  /** Deliveries being claimed or claimed and not yet sent, all endpoints. */
  private ahead = 0;
  private pumping = false;
  private pumpAgain = false;
  private pumpTimer: NodeJS.Timeout | null = null;
  /**
   * Gives back claims ahead that waited MAX_READY_MS behind sends that do not end (see
   * startSends), and lets go queue jobs that lines parked by time alone no longer hold up.
   */
  private readonly readyTimer: NodeJS.Timeout;
  private readonly readyLimitMs: number;
  /** The running pump loop, so shutdown can wait for a claim in progress to become sends. */
  private pumpRun: Promise<void> | null = null;
  /** Queue jobs waiting for unbounded lines to drain (see offer). */
  private readonly drainWaiters: (() => void)[] = [];
  /** Wake-ups and alerts that follow written results (see writeBatch). */
  private readonly afterWork = new Set<Promise<void>>();
  private readonly pendingResults: PendingResult[] = [];
  private recording: Promise<void> | null = null;
  private readonly sends = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private stopping = false;
  private draining: Promise<void> | null = null;

  constructor(
    @Inject(TERN_CONFIG) private readonly config: TernConfig,
    private readonly claims: DeliveryClaimsService,
    private readonly outcomes: DeliveryOutcomes,
    private readonly metrics: MetricsService,
  ) {
    this.agent = createDeliveryAgent({
      connectTimeoutMs: config.connectTimeoutMs,
      deliveryTimeoutMs: config.deliveryTimeoutMs,
      allowedCidrs: config.allowedTargetCidrs,
    });
    this.userAgent = `Tern-Webhooks/${config.version}`;
    // A claim's lease covers one attempt (DELIVERY_TIMEOUT_MS) and a margin: a delivery waits in
    // `ready` half the margin at most, so its attempt and result still fit in the lease; and 1 s at
    // most, so what the claim read of its endpoint (enabled, URL, secret) is that fresh when sent.
    this.readyLimitMs = Math.min(MAX_READY_MS, (config.leaseMs - config.deliveryTimeoutMs) / 2);
    this.readyTimer = setInterval(
      () => {
        const oldest = Date.now() - this.readyLimitMs;
        for (const s of this.endpoints.values())
          if (s.ready.length > 0 && s.ready[0].at < oldest) this.startSends(s);
        this.releaseDrainWaiters();
        if (Date.now() - this.prunedAt > 60_000) {
          this.prunedAt = Date.now();
          for (const [id, at] of this.answeredAt)
            if (at < this.prunedAt - ANSWER_MEMORY_MS) this.answeredAt.delete(id);
        }
      },
      Math.max(50, this.readyLimitMs / 2),
    );
    this.readyTimer.unref();
  }

  /**
   * Takes deliveries to try, by endpoint ([endpointId, deliveryIds]). A line holds at most its
   * lineBound (a parked, rate-limited or not yet answering endpoint's): beyond that an offer is
   * dropped from memory (the delivery stays pending in Postgres, and the line reads it back as it
   * drains: see refill), so a dead endpoint's backlog cannot grow here. Other lines are bounded by
   * backpressure instead: past HIGH_WATER waiting in them, the queue job waits until they drain,
   * which they do.
   */
  async offer(groups: Iterable<[string, string[]]>): Promise<void> {
    if (this.stopping) return;
    const now = Date.now();
    for (const [endpointId, ids] of groups) {
      this.accept(this.state(endpointId), ids.length, (i) => ids[i], least(ids), now);
    }
    await this.afterOffer();
  }

  /**
   * Takes events to deliver (see EventGroup): each target's deliveries as offer takes them, their
   * ids made only for what its line has room for, so a dead endpoint's share of a write costs a
   * look at its line.
   */
  async offerEvents(groups: EventGroup[]): Promise<void> {
    if (this.stopping) return;
    const now = Date.now();
    for (const [eventIds, targets] of groups) {
      const prefixes = eventIds.map(deliveryIdPrefix);
      const first = least(prefixes);
      for (const [endpointId, n] of targets) {
        const tail = deliveryIdTail(n);
        const s = this.state(endpointId);
        this.accept(s, prefixes.length, (i) => prefixes[i] + tail, first + tail, now);
      }
    }
    await this.afterOffer();
  }

  /**
   * Puts `count` deliveries (`idAt`, the least of them `first`) in an endpoint's line, up to its
   * bound; the rest are left in Postgres for the line to read back (see refill).
   */
  private accept(
    s: EndpointState,
    count: number,
    idAt: (i: number) => string,
    first: string,
    now: number,
  ): void {
    // Every bound is LINE_LIMIT at least: shorter lines skip working it out.
    const bound =
      s.waiting.length + count > LINE_LIMIT
        ? lineBound(s, now, this.config.deliveryTimeoutMs)
        : null;
    for (let i = 0; i < count; i++) {
      if (bound !== null && s.waiting.length >= bound) {
        // The rest is left in Postgres; the line reads it back itself (see refill), from the
        // start again if some of it lies behind where the current read has got to.
        s.dropped = true;
        if (s.refilling || (s.refillAfter !== null && first < s.refillAfter)) s.rewind = true;
        return;
      }
      const id = idAt(i);
      if (this.known.has(id)) continue;
      this.known.add(id);
      s.waiting.push(id);
      this.waitingCount++;
    }
  }

  /** After an offer: claim, and hold the queue job while unbounded lines are past HIGH_WATER. */
  private async afterOffer(): Promise<void> {
    this.pump();
    while (!this.stopping && this.unboundedWaiting() > HIGH_WATER) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
  }

  /** Deliveries waiting in lines with no bound of their own (see lineBound). */
  private unboundedWaiting(): number {
    const now = Date.now();
    let bounded = 0;
    for (const s of this.endpoints.values())
      if (lineBound(s, now, this.config.deliveryTimeoutMs) !== null) bounded += s.waiting.length;
    return this.waitingCount - bounded;
  }

  /**
   * Lets queue jobs held by backpressure go once unbounded lines are down to half the mark.
   * Checked after each claim and on a timer: an endpoint becomes parked by time passing
   * (STALL_MS), with nothing else happening, and that alone can bring those lines down.
   */
  private releaseDrainWaiters(): void {
    if (this.drainWaiters.length && this.unboundedWaiting() <= HIGH_WATER / 2) {
      this.drainWaiters.splice(0).forEach((w) => w());
    }
  }

  /** Whether this process is holding the delivery (waiting in a line, or in flight). */
  holds(deliveryId: string): boolean {
    return this.known.has(deliveryId);
  }

  /**
   * Whether this process reads the endpoint's due deliveries back from Postgres itself (its line
   * dropped offers; see refill), so the sweeper need not offer them again.
   */
  refills(endpointId: string): boolean {
    return this.endpoints.get(endpointId)?.dropped === true;
  }

  /**
   * Fetches what a line dropped (see offer) back from Postgres once the line is down to half its
   * bound (LINE_LIMIT once it has none): the endpoint's due deliveries in id order, a page at a
   * time, until a page comes back short. So a rate-limited endpoint's backlog drains at its rate,
   * and a dead endpoint's at once when it answers again, rather than at the sweeper's pace (a page
   * of overdue deliveries, shared by all endpoints, every SWEEP_INTERVAL_MS); and the sweeper
   * offers none of them again meanwhile (see refills). Another worker may hold some of them: the
   * claim is conditional, so what two workers both offer is sent once.
   */
  private refill(endpointId: string, s: EndpointState, now: number): void {
    if (s.refilling || now < s.refillAt || this.stopping) return;
    const bound = lineBound(s, now, this.config.deliveryTimeoutMs) ?? LINE_LIMIT;
    if (s.waiting.length > bound / 2) return;
    const want = bound - s.waiting.length;
    if (s.rewind) s.refillAfter = null;
    s.rewind = false;
    s.refilling = true;
    const work = this.claims
      .dueForEndpoint(endpointId, s.refillAfter, want)
      .then(
        ({ ids, last }) => {
          for (const id of ids) {
            if (this.known.has(id)) continue;
            this.known.add(id);
            s.waiting.push(id);
            this.waitingCount++;
          }
          if (last !== null) {
            s.refillAfter = last;
          } else {
            s.refillAfter = null;
            // An offer dropped while this read was under way may not be in it: read again.
            s.dropped = s.rewind;
          }
        },
        (e) => {
          this.logger.warn(`could not refill ${endpointId}'s line: ${(e as Error).message}`);
          s.refillAt = Date.now() + 1_000;
          // The sweeper leaves these rows to this line (see refills): try again even if nothing
          // else wakes the pump.
          setTimeout(() => this.pump(), 1_000).unref();
        },
      )
      .finally(() => {
        s.refilling = false;
        this.afterWork.delete(work);
        this.pump();
      });
    this.afterWork.add(work);
  }

  private state(endpointId: string): EndpointState {
    let s = this.endpoints.get(endpointId);
    if (!s) {
      s = {
        waiting: [],
        claiming: 0,
        ready: [],
        sending: 0,
        sendMs: AHEAD_MAX_SEND_MS, // not known to be quick until a send has been timed
        failing: 0,
        progressAt: 0,
        answered: (this.answeredAt.get(endpointId) ?? 0) > Date.now() - ANSWER_MEMORY_MS,
        rate: null,
        tokens: 0,
        tokensAt: 0,
        dropped: false,
        refillAfter: null,
        rewind: false,
        refilling: false,
        refillAt: 0,
      };
      this.endpoints.set(endpointId, s);
    }
    return s;
  }

  private pump(): void {
    if (this.stopping) return; // shutting down: nothing new is claimed
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    this.pumpRun = this.pumpLoop()
      .catch((e) => this.logger.error({ err: e }, `dispatch pump failed: ${(e as Error).message}`))
      .finally(() => {
        this.pumping = false;
        this.pumpRun = null;
        if (this.pumpAgain) this.pump();
      });
  }

  /** Picks what may be sent now from every endpoint's line, claims it in one statement, sends it. */
  private async pumpLoop(): Promise<void> {
    for (;;) {
      if (this.stopping) return;
      this.pumpAgain = false;
      const picked: { id: string; endpointId: string }[] = [];
      const aheadOf: [string, EndpointState][] = [];
      const budget = () =>
        this.config.dispatchConcurrency - this.sending - this.ahead - picked.length;
      const served = new Set<string>();
      const take = (endpointId: string, s: EndpointState, n: number) => {
        for (let i = 0; i < n && s.waiting.length > 0; i++) {
          picked.push({ id: s.waiting.shift()!, endpointId });
          s.claiming++;
          served.add(endpointId);
        }
      };
      let earliestToken = Infinity;
      const now = Date.now();
      for (const [endpointId, s] of this.endpoints) {
        if (s.dropped) this.refill(endpointId, s, now);
        if (s.waiting.length === 0) {
          if (this.held(s) === 0 && s.failing === 0 && s.rate === null && !s.dropped)
            this.endpoints.delete(endpointId);
          continue;
        }
        // First what the endpoint may send now: up to its limit, less what it holds. Sends and
        // claims together stay within DISPATCH_CONCURRENCY, so a claimed delivery never waits for a
        // slot elsewhere in the process, only for one of its own endpoint's.
        const limit = this.sendLimit(s);
        let free = Math.min(limit - this.held(s), budget());
        if (s.rate !== null) {
          s.tokens = Math.min(s.rate, s.tokens + ((now - s.tokensAt) / 1000) * s.rate);
          s.tokensAt = now;
          if (s.tokens < 1)
            earliestToken = Math.min(earliestToken, ((1 - s.tokens) / s.rate) * 1000);
          free = Math.min(free, Math.floor(s.tokens));
          s.tokens -= Math.max(0, Math.min(free, s.waiting.length));
        }
        take(endpointId, s, free);
        // A healthy, quick endpoint without a rate limit also has as many more claimed ahead, so
        // each finished send is followed by the next at once. A failing one gets one at a time and
        // nothing ahead; a rate-limited one nothing ahead, so its sends keep the pace its tokens
        // were taken at; a slow one (AHEAD_MAX_SEND_MS) nothing ahead.
        if (s.failing === 0 && s.rate === null && s.sendMs < AHEAD_MAX_SEND_MS)
          aheadOf.push([endpointId, s]);
      }
      // Claims ahead only from what every endpoint's sends left of the budget, so an endpoint
      // late in the map is not kept waiting while earlier ones claim ahead.
      for (const [endpointId, s] of aheadOf)
        take(endpointId, s, Math.min(2 * this.sendLimit(s) - this.held(s), budget()));
      // Round robin: the endpoints served go to the back of the map, so when DISPATCH_CONCURRENCY
      // binds (more busy endpoints than it has room for), the next pump starts with the others.
      for (const endpointId of served) {
        const s = this.endpoints.get(endpointId)!;
        this.endpoints.delete(endpointId);
        this.endpoints.set(endpointId, s);
      }
      if (earliestToken !== Infinity && !this.pumpTimer) {
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = null;
          this.pump();
        }, Math.ceil(earliestToken));
      }
      if (picked.length === 0) {
        if (!this.pumpAgain) return;
        continue;
      }
      this.ahead += picked.length;
      this.waitingCount -= picked.length;
      this.releaseDrainWaiters();
      await this.claimAndSend(picked);
    }
  }

  private async claimAndSend(picked: { id: string; endpointId: string }[]): Promise<void> {
    let claimed: ClaimedDelivery[] = [];
    try {
      claimed = await this.claims.claim(
        picked.map((p) => p.id),
        randomUUID(),
        this.config.leaseMs,
      );
    } catch (e) {
      this.logger.warn(`claim failed (the sweeper will retry): ${(e as Error).message}`);
    }
    const got = new Set(claimed.map((c) => c.id));
    const now = Date.now();
    for (const p of picked) {
      const s = this.state(p.endpointId);
      s.claiming--;
      if (!got.has(p.id)) {
        this.known.delete(p.id); // done, owned elsewhere, or not due
        this.ahead--;
      }
    }
    const touched = new Set<EndpointState>();
    for (const d of claimed) {
      const s = this.state(d.endpointId);
      s.rate = d.rateLimitPerSecond;
      s.ready.push({ d, at: now });
      touched.add(s);
    }
    for (const s of touched) this.startSends(s);
  }

  /** Sends at once to one endpoint: ENDPOINT_CONCURRENCY, or 1 while it keeps failing. */
  private sendLimit(s: EndpointState): number {
    return s.failing > 0 ? 1 : this.config.endpointConcurrency;
  }

  /** Deliveries an endpoint's line holds beyond `waiting`: being claimed, claimed, or in flight. */
  private held(s: EndpointState): number {
    return s.claiming + s.ready.length + s.sending;
  }

  /**
   * Sends an endpoint's claimed deliveries while it has free slots (and the process does). Claimed
   * deliveries that cannot go now because the endpoint is failing or rate-limited are given back
   * (see unclaim), so none waits behind a dead endpoint's one slot until its lease runs out; so is
   * one that has waited so long for a slot that its attempt could outlive its lease.
   */
  private startSends(s: EndpointState): void {
    if (this.stopping) return; // runDrain gives back what is still claimed
    const limit = this.sendLimit(s);
    const oldest = Date.now() - this.readyLimitMs; // see readyLimitMs
    const giveBack: ClaimedDelivery[] = [];
    // Sends and claims share DISPATCH_CONCURRENCY (see pumpLoop), so only the endpoint's own limit
    // can hold a claimed delivery back.
    while (s.ready.length > 0 && s.sending < limit) {
      const { d, at } = s.ready.shift()!;
      if (at < oldest) {
        giveBack.push(d);
        continue;
      }
      this.ahead--;
      if (s.sending === 0) s.progressAt = Date.now();
      s.sending++;
      this.sending++;
      const send = this.sendOne(d).finally(() => this.sends.delete(send));
      this.sends.add(send);
    }
    // Claimed first, so oldest first: what waited too long behind sends that do not end goes back.
    // Its sends have stopped being quick: nothing more is claimed ahead until one is again.
    if (s.ready.length > 0 && s.ready[0].at < oldest)
      s.sendMs = Math.max(s.sendMs, AHEAD_MAX_SEND_MS);
    while (s.ready.length > 0 && s.ready[0].at < oldest) giveBack.push(s.ready.shift()!.d);
    // Nothing waits claimed behind a failing endpoint's one slot, nor ahead of a rate limit's
    // tokens (its first claim, before its rate was known, may have taken more than one burst).
    if ((s.failing > 0 || s.rate !== null) && s.ready.length > 0)
      giveBack.push(...s.ready.splice(0).map((r) => r.d));
    if (giveBack.length > 0) this.giveBack(s, giveBack);
  }

  /** Gives claims back unsent and puts their deliveries at the head of the endpoint's line. */
  private giveBack(s: EndpointState, items: ClaimedDelivery[]): void {
    this.ahead -= items.length;
    s.claiming += items.length; // still held until Postgres answers
    const work = this.unclaimWithRetry(items)
      .then(
        (back) => {
          const again = items.filter((d) => back.has(d.id)).map((d) => d.id);
          for (const d of items) if (!back.has(d.id)) this.known.delete(d.id);
          s.waiting.unshift(...again);
          this.waitingCount += again.length;
        },
        (e) => {
          // The lease runs out and the sweeper makes them due again, logging the lost attempt.
          this.logger.warn(`could not give back ${items.length} claims: ${(e as Error).message}`);
          for (const d of items) this.known.delete(d.id);
        },
      )
      .finally(() => {
        s.claiming -= items.length;
        this.afterWork.delete(work);
        this.pump();
      });
    this.afterWork.add(work);
  }

  /** unclaim, tried again while Postgres is unreachable, for up to half the lease margin. */
  private unclaimWithRetry(items: ClaimedDelivery[]): Promise<Set<string>> {
    return whileUnreachable(
      () => this.claims.unclaim(items.map((d) => ({ id: d.id, claimId: d.claimId }))),
      Date.now() +
        Math.min(RECORD_RETRY_MS, (this.config.leaseMs - this.config.deliveryTimeoutMs) / 2),
      () => true,
      () => undefined,
    );
  }

  private async sendOne(d: ClaimedDelivery): Promise<void> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    let result: SendResult;
    try {
      result = await sendWebhook(
        this.agent,
        {
          url: d.url,
          headers: buildHeaders(d, this.userAgent, nowSeconds),
          body: d.body,
          timeoutMs: this.config.deliveryTimeoutMs,
          signal: this.shutdown.signal,
        },
        this.config.allowedTargetCidrs,
      );
    } catch (e) {
      // Never leave a claimed delivery without a result: a bug here is a failed attempt, logged.
      result = {
        startedAt: new Date(),
        durationMs: 0,
        statusCode: null,
        responseBody: null,
        retryAfterMs: null,
        error: `could not send: ${(e as Error).message}`,
      };
    }
    // Cut short by shutdown (no answer came): logged as a failed attempt, but the receiver is not
    // to blame, so the delivery is due again at once and this does not use up its last attempt
    // (as with an expired lease). A live worker, or the next one to start, takes it.
    const interrupted = this.shutdown.signal.aborted && result.statusCode === null;
    if (interrupted) result.error = INTERRUPTED_ATTEMPT;
    const outcome = decideOutcome(
      { statusCode: result.statusCode, retryAfterMs: result.retryAfterMs },
      {
        attempts: d.attempt,
        maxAttempts: interrupted ? Math.max(d.maxAttempts, d.attempt + 1) : d.maxAttempts,
        manualRetry: d.manualRetry,
        isAlert: d.isAlert,
      },
      this.config.retrySchedule,
    );
    if (interrupted && outcome.retryInMs !== null) outcome.retryInMs = 0;
    this.metrics.attemptDuration(
      outcome.status === 'succeeded' ? 'success' : 'failure',
      result.durationMs / 1000,
    );
    const s = this.state(d.endpointId);
    s.failing = outcome.status === 'succeeded' ? 0 : s.failing + 1;
    s.progressAt = Date.now();
    if (result.statusCode !== null) {
      s.answered = true;
      this.answeredAt.set(d.endpointId, s.progressAt);
    }
    s.sendMs = 0.8 * s.sendMs + 0.2 * result.durationMs;
    this.sending--;
    s.sending--;
    this.startSends(s); // a slot is free: the next claimed delivery goes at once
    this.pump();
    const error =
      result.error ??
      (outcome.status === 'succeeded'
        ? null
        : `HTTP ${result.statusCode}${result.statusCode === 410 ? ' Gone' : ''}`);
    this.pendingResults.push({
      claimed: d,
      outcome,
      result,
      record: {
        deliveryId: d.id,
        claimId: d.claimId,
        attempt: d.attempt,
        startedAt: result.startedAt,
        durationMs: result.durationMs,
        statusCode: result.statusCode,
        responseBody: result.responseBody,
        error,
        status: outcome.status,
        retryInMs: outcome.retryInMs,
        maxAttemptsAtLeast: interrupted ? d.attempt + 1 : d.maxAttempts,
        interrupted,
        endpointId: d.endpointId,
      },
    });
    await this.flushResults();
  }

  /** Group commit: while one batch is being written, later results gather for the next. */
  private flushResults(): Promise<void> {
    if (this.recording)
      return this.recording.then(() =>
        this.pendingResults.length ? this.flushResults() : undefined,
      );
    const batch = this.pendingResults.splice(0, RECORD_BATCH);
    if (batch.length === 0) return Promise.resolve();
    this.recording = this.writeBatch(batch).finally(() => {
      this.recording = null;
    });
    return this.recording;
  }

  private async writeBatch(batch: PendingResult[]): Promise<void> {
    let written = new Map<string, AttemptRecord['status']>();
    try {
      written = await whileUnreachable(
        () => this.claims.record(batch.map((b) => b.record)),
        Date.now() + Math.min(RECORD_RETRY_MS, this.config.leaseMs / 2),
        () => !this.stopping,
        (e) =>
          this.logger.warn(`could not record ${batch.length} attempts, trying again: ${e.message}`),
      );
    } catch (e) {
      this.logger.error(
        { err: e },
        `could not record ${batch.length} attempts together: ${(e as Error).message}`,
      );
      // Postgres is up but refused the batch: one bad row must not cost the others their
      // result, so write them one by one. What still fails is left to the lease and the sweeper.
      if (!isDependencyFailure(e) && batch.length > 1) {
        for (const b of batch) {
          try {
            for (const [id, status] of await this.claims.record([b.record]))
              written.set(id, status);
          } catch (err) {
            this.logger.error(
              { err, deliveryId: b.claimed.id },
              `could not record the attempt of ${b.claimed.id}`,
            );
          }
        }
      }
    }
    for (const b of batch) this.known.delete(b.claimed.id);
    const recorded = batch.filter((b) => written.has(b.claimed.id));
    // A retry written paused (its endpoint disabled by then) has no next attempt to wake.
    for (const b of recorded)
      if (written.get(b.claimed.id) === 'paused' && b.outcome.status === 'pending')
        b.outcome = { ...b.outcome, status: 'paused', retryInMs: null };
    // Wake-ups and alerts run beside the next write, not in front of it: a slow Redis must not
    // hold results back until their leases expire.
    const after = this.outcomes
      .afterRecorded(recorded)
      .catch((e) =>
        this.logger.error({ err: e }, `after-recording work failed: ${(e as Error).message}`),
      )
      .finally(() => this.afterWork.delete(after));
    this.afterWork.add(after);
  }

  /**
   * Shutdown, second step. Nest calls every onModuleDestroy first (DeliveryProcessor stops taking
   * jobs, the sweeper stops), then this, and only afterwards the onApplicationShutdown hooks that
   * close Bull's Redis connections and TypeORM's pool: so the last results are written while both
   * are still open, whatever order the modules are in.
   */
  beforeApplicationShutdown(): Promise<void> {
    return this.drain();
  }

  /**
   * Stops claiming, gives back claims not yet sent, lets the attempts in flight finish for up to
   * SHUTDOWN_GRACE_MS, then aborts the rest and records them as failed attempts. Deliveries only
   * waiting here were never claimed: they stay pending in Postgres for the next worker. Idempotent.
   */
  drain(): Promise<void> {
    this.draining ??= this.runDrain();
    return this.draining;
  }

  private async runDrain(): Promise<void> {
    this.stopping = true;
    this.drainWaiters.splice(0).forEach((w) => w()); // queue jobs held by backpressure end now
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    clearInterval(this.readyTimer);
    this.pumpTimer = null;

    // A claim already under way finishes: wait for it. What it and earlier claims hold that has not
    // been sent is given back unsent (due again for the next worker, no attempt used or logged).
    while (this.pumpRun) await this.pumpRun;
    for (const s of this.endpoints.values()) {
      if (s.ready.length > 0)
        this.giveBack(
          s,
          s.ready.splice(0).map((r) => r.d),
        );
    }
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, this.config.shutdownGraceMs)));
    await Promise.race([Promise.allSettled([...this.sends]), grace]);
    clearTimeout(timer);
    if (this.sends.size > 0) {
      this.logger.warn(
        `shutdown: aborting ${this.sends.size} attempts still in flight after ${Date.now() - started} ms`,
      );
      this.shutdown.abort(new Error(INTERRUPTED_ATTEMPT));
    }
    await this.idle(); // every result recorded
    await this.agent.close().catch(() => undefined);
  }

  /** Waits until nothing is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.sends.size > 0 || this.recording || this.afterWork.size > 0) {
      await Promise.allSettled([...this.sends]);
      if (this.recording) await this.recording;
      await Promise.allSettled([...this.afterWork]);
    }
  }
}
