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
 * Fields of a request body whose JSON Tern stores as the text it is, where a NUL is the escape
 * `\u0000` (an event's `data`): each a path of keys, `[]` for every item of an array. Set with
 * @OpaqueJson on the body's DTO class; nulPath does not look inside them.
 */
const OPAQUE_JSON = new WeakMap<object, string[][]>();

/** Marks fields of a body DTO as opaque JSON (see OPAQUE_JSON): `['events', '[]', 'data']`. */
export function OpaqueJson(...paths: string[][]): ClassDecorator {
  return (target) => {
    OPAQUE_JSON.set(target, paths);
  };
}

/**
 * Where a request value holds U+0000 (NUL), in a string or a key: its path as refusedKeyPath gives
 * it (`name`, `events[0].idempotencyKey`, `metadata.note`; `` for the value itself), or null when
 * nowhere. Postgres stores no NUL in text or jsonb (SQLSTATE 22021, 22P05), which made a tenant's
 * name, an idempotency key or a path parameter holding one a 500. `skip`: the opaque JSON fields
 * not looked into (see OpaqueJson).
 */
export function nulPath(value: unknown, skip: string[][] = []): string | null {
  const found = nulIn(value, skip);
  if (found === null) return null;
  return found.startsWith('.') ? found.slice(1) : found;
}

/** nulPath's walk: the path below `value` (`.a[1].b`), or null; `skip` as seen from here. */
function nulIn(value: unknown, skip: string[][]): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? '' : null;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return null;
  if (Array.isArray(value)) {
    const below = skip.length ? skip.filter((p) => p[0] === '[]').map((p) => p.slice(1)) : skip;
    for (let i = 0; i < value.length; i++) {
      const found = nulIn(value[i], below);
      if (found !== null) return `[${i}]${found}`;
    }
    return null;
  }
  for (const key in value) {
    if (key.includes('\u0000')) return `.${key}`;
    const below = skip.length ? skip.filter((p) => p[0] === key).map((p) => p.slice(1)) : skip;
    if (below.some((p) => p.length === 0)) continue; // an opaque field
    const found = nulIn((value as Record<string, unknown>)[key], below);
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
 * NUL anywhere in a body, query or path parameter but a body's opaque JSON (400 naming the field).
 */
class TernValidationPipe extends ValidationPipe {
  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      const opaque = metadata.type === 'body' && metadata.metatype;
      const at = nulPath(value, (opaque && OPAQUE_JSON.get(opaque)) || []);
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
