// Subscription patterns: an exact catalog name, `prefix.*`, or `*`. Pure code.
// `prefix.*` matches every type below the prefix at any depth (`order.*` matches `order.paid` and
// `order.paid.eu`) but not `order` itself. Wildcards never match a reserved type: those are
// subscribed to by exact name, so `*` cannot sign an endpoint up for alerts or test events.

import { isReservedEventTypeName, RESERVED_EVENT_TYPES } from '../catalog/event-type-rules';

/** The types Tern itself emits (one list, kept with the catalog's name rules); no wildcard matches them. */
export { RESERVED_EVENT_TYPES };

/** Same shape as catalog names: dot-separated segments of letters, digits, `_` and `-`. */
const NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
export const MAX_PATTERN_LENGTH = 130;

/** True for the reserved types and the whole `tern.` namespace, which belongs to Tern. */
export const isReservedType = isReservedEventTypeName;

export type PatternKind = 'exact' | 'prefix' | 'all';

/** What kind of pattern `p` is, or null when it is not a pattern. */
export function patternKind(p: unknown): PatternKind | null {
  if (typeof p !== 'string' || p.length === 0 || p.length > MAX_PATTERN_LENGTH) return null;
  if (p === '*') return 'all';
  if (p.endsWith('.*')) return NAME.test(p.slice(0, -2)) ? 'prefix' : null;
  return NAME.test(p) ? 'exact' : null;
}

export function isValidPattern(p: unknown): p is string {
  return patternKind(p) !== null;
}

/** Why `p` cannot be stored as a subscription, or null when it can (catalog checks aside). */
export function patternProblem(p: unknown): string | null {
  const kind = patternKind(p);
  if (kind === null)
    return 'must be an event type name (order.completed), a prefix wildcard (order.*) or *';
  if (kind === 'prefix' && isReservedType((p as string).slice(0, -1) + 'x'))
    return 'would match only reserved types; subscribe to them by exact name';
  return null;
}

export function matches(pattern: string, type: string): boolean {
  if (pattern === type) return true;
  if (isReservedType(type)) return false;
  const kind = patternKind(pattern);
  if (kind === 'all') return true;
  if (kind === 'prefix') return type.startsWith(pattern.slice(0, -1));
  return false;
}

/**
 * Every stored pattern that matches `type`, so fan-out is one index lookup per pattern on (tenant_id,
 * pattern) (src/events/insert-events.statement.ts):
 * `order.paid.eu` gives [`order.paid.eu`, `order.paid.*`, `order.*`, `*`]; a reserved type only
 * itself.
 */
export function patternsFor(type: string): string[] {
  if (isReservedType(type)) return [type];
  const out = [type];
  const segments = type.split('.');
  for (let n = segments.length - 1; n >= 1; n--) out.push(`${segments.slice(0, n).join('.')}.*`);
  out.push('*');
  return out;
}
