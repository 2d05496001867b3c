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
