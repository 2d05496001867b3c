// The global ValidationPipe: whitelist, refuse unknown fields, and name every bad field in `details`.
import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldProblem, invalid, TernError } from './errors';

/**
 * Keys refused anywhere in a request body or query. Nest's ValidationPipe would delete them, at any
 * depth, before class-transformer saw the body (a guard against prototype pollution), so an event's
 * `data` or a JSON Schema would lose them without a word (a schema property named `constructor`
 * would stop being checked); class-transformer itself fails on some of them (a 500).
 */
export const REFUSED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/**
 * Where the first REFUSED_KEYS key of a parsed JSON value is (`data.customer.constructor`,
 * `[2].schema.properties.prototype`), `path` naming the value itself; null when there is none.
 * Every request body is walked: the path is only built for a key found.
 */
export function refusedKeyPath(value: unknown, path = ''): string | null {
  const found = refusedKeyIn(value);
  if (found === null) return null;
  return path === '' && found.startsWith('.') ? found.slice(1) : path + found;
}

/** refusedKeyPath's walk: the path below `value` (`.a[1].constructor`), or null. */
function refusedKeyIn(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = refusedKeyIn(value[i]);
      if (found !== null) return `[${i}]${found}`;
    }
    return null;
  }
  for (const key in value) {
    if (REFUSED_KEYS.includes(key)) return `.${key}`;
    const found = refusedKeyIn((value as Record<string, unknown>)[key]);
    if (found !== null) return `.${key}${found}`;
  }
  return null;
}

export const REFUSED_KEY_MESSAGE =
  'keys named __proto__, constructor or prototype are not accepted';

/**
 * Where a request value holds U+0000 (NUL), in a string or a key: its path as refusedKeyPath gives
 * it (`name`, `events[0].idempotencyKey`, `metadata.note`), `path` naming the value itself; null
 * when nowhere. Postgres stores no NUL in text or jsonb (SQLSTATE 22021, 22P05), which made a
 * tenant's name, an idempotency key or a path parameter holding one a 500. Not looked into: an
 * event's `data` (`data`, `events[i].data`), which Tern stores and sends as the JSON text it is,
 * where a NUL is the escape `\u0000`.
 */
export function nulPath(value: unknown, path = ''): string | null {
  const found = nulIn(value, '');
  if (found === null) return null;
  return path === '' && found.startsWith('.') ? found.slice(1) : path + found;
}

/** An event's data, at the top of a body or in a batch's `events`. */
const OPAQUE_JSON = /^(\.events\[\d+\])?\.data$/;

/** nulPath's walk: the path below `value` (`.a[1].b`), or null; `at` is where value is. */
function nulIn(value: unknown, at: string): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? '' : null;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulIn(value[i], `${at}[${i}]`);
      if (found !== null) return `[${i}]${found}`;
    }
    return null;
  }
  for (const key in value) {
    if (key.includes('\u0000')) return `.${key}`;
    const here = `${at}.${key}`;
    if (OPAQUE_JSON.test(here)) continue;
    const found = nulIn((value as Record<string, unknown>)[key], here);
    if (found !== null) return `.${key}${found}`;
  }
  return null;
}

export const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

/**
 * class-validator's errors as one problem per constraint, each naming its field as our own checks
 * and refusedKeyPath do: `events[1].data`, where class-validator's own path says `events.1.data`.
 */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const e of errors) {
    // An array item's error has its index for property; an unknown key that happens to be a
    // number (`{"3": 1}`) has it too, but as a whitelist error, and stays `.3`.
    const index = /^\d+$/.test(e.property) && !e.constraints?.whitelistValidation;
    const field = index
      ? `${parent}[${e.property}]`
      : parent
        ? `${parent}.${e.property}`
        : e.property;
    for (const message of Object.values(e.constraints ?? {})) {
      out.push({
        field,
        message: message.replace(/^property (\S+) should not exist$/, 'is not a known field'),
      });
    }
    if (e.children?.length) out.push(...flattenValidationErrors(e.children, field));
  }
  return out;
}

/**
 * Nest's ValidationPipe, refusing REFUSED_KEYS (400 naming the key) instead of deleting them, and a
 * NUL anywhere in a body, query or path parameter but an event's data (400 naming the field).
 */
class TernValidationPipe extends ValidationPipe {
  transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      const at = nulPath(value);
      if (at !== null) throw invalid(at || metadata.data || metadata.type, NUL_MESSAGE);
    }
    return super.transform(value, metadata);
  }

  protected stripProtoKeys(value: unknown): void {
    const at = refusedKeyPath(value);
    if (at !== null) throw invalid(at, REFUSED_KEY_MESSAGE);
  }
}

export function validationPipe(): ValidationPipe {
  return new TernValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const details = flattenValidationErrors(errors);
      const message = details.map((d) => `${d.field}: ${d.message}`).join('; ') || 'invalid input';
      return new TernError('invalid', message, details);
    },
  });
}
