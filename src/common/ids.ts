// Prefixed, time-ordered ids: `<prefix>_` + 10 chars of millisecond time + 16 random chars
// (Crockford base32). Sorting the strings sorts by creation time, which keyset pagination relies on.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix = 'ep' | 'evt' | 'dlv' | 'att' | 'alr' | 'key' | 'ten';

let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function nextRandom(now: number): number[] {
  if (now === lastTime) {
    // Same millisecond: increment the previous random part so ids stay strictly increasing in this process.
    const r = lastRandom.slice();
    for (let i = r.length - 1; i >= 0; i--) {
      if (r[i] < 31) {
        r[i]++;
        return r;
      }
      r[i] = 0;
    }
    return r;
  }
  const bytes = randomBytes(16);
  return Array.from(bytes, (b) => b % 32);
}

/** A new id such as `evt_01jc2x...`; strictly increasing within this process. */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  if (now < lastTime) now = lastTime; // clock stepped back: keep order
  const random = nextRandom(now);
  lastTime = now;
  lastRandom = random;
  return `${prefix}_${encodeTime(now)}${random.map((d) => ALPHABET[d]).join('')}`;
}

/**
 * The id of an event's `n`th delivery (0-based, its endpoints in id order), from the event's id
 * (`evt_` + time + random, as newId makes): `dlv_`, the event's time part, the last 12 characters
 * of its random part (deliveryIdPrefix), then `n` in 4 characters (deliveryIdTail). Ids made this
 * way sort by event, as newId made them, then by `n`. Within one thread, distinct events give
 * distinct ids (newId's increments within a millisecond touch the last characters, which repeat
 * only after 32^12 ids); their order follows the events' unless an increment carries past those 12
 * (odds of 32^-12 per event). Across threads and processes in one millisecond, they share 60
 * random bits rather than newId's 80. An event has room for 32^4 deliveries (a larger fan-out would
 * fail its insert on the primary key). The ingest statement makes them in SQL (the *Sql twins,
 * which a test holds equal to these); ingestion makes the same in code for its answer, and the
 * dispatcher for the deliveries a wake-up names by event and place (EventGroup).
 */
export function deliveryId(eventId: string, n: number): string {
  return deliveryIdPrefix(eventId) + deliveryIdTail(n);
}

/** What every delivery id of an event starts with (see deliveryId). */
export function deliveryIdPrefix(eventId: string): string {
  return `dlv_${eventId.slice(4, 14)}${eventId.slice(-12)}`;
}

/** How the id of an event's `n`th delivery ends: `n` in 4 characters (see deliveryId). */
export function deliveryIdTail(n: number): string {
  return (
    ALPHABET[(n >> 15) & 31] + ALPHABET[(n >> 10) & 31] + ALPHABET[(n >> 5) & 31] + ALPHABET[n & 31]
  );
}

/** deliveryIdPrefix in SQL, of the text expression `eventId`. */
export function deliveryIdPrefixSql(eventId: string): string {
  return `('dlv_' || substr(${eventId}, 5, 10) || right(${eventId}, 12))`;
}

/** deliveryIdTail in SQL, of the integer expression `n`. */
export function deliveryIdTailSql(n: string): string {
  const digit = (shift: number) => `substr('${ALPHABET}', ((${n}) >> ${shift} & 31)::int + 1, 1)`;
  return `(${[15, 10, 5, 0].map(digit).join(' || ')})`;
}

/** deliveryId in SQL. */
export function deliveryIdSql(eventId: string, n: string): string {
  return `(${deliveryIdPrefixSql(eventId)} || ${deliveryIdTailSql(n)})`;
}

/** The creation time encoded in an id made by newId, or null when it is not one. */
export function idTime(id: string): Date | null {
  const m = /^[a-z]+_([0-9a-hjkmnp-tv-z]{10})[0-9a-hjkmnp-tv-z]{16}$/.exec(id);
  if (!m) return null;
  let ms = 0;
  for (const ch of m[1]) ms = ms * 32 + ALPHABET.indexOf(ch);
  return new Date(ms);
}

const TENANT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
export function isTenantId(value: string): boolean {
  return TENANT_ID.test(value);
}

/**
 * The smallest id newId could make at `ms` (time part, then all-zero random part): every id made at
 * or after `ms` compares >= it, every earlier one < it. Lets time windows become id ranges.
 */
export function idFloor(prefix: IdPrefix, ms: number): string {
  return `${prefix}_${encodeTime(Math.max(0, Math.floor(ms)))}${'0'.repeat(16)}`;
}
