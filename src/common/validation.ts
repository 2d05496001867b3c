// The global ValidationPipe: whitelist, refuse unknown fields, and name every bad field in `details`;
// checkBody runs the same checks for a route that adds its own to the shape problems.
import {
  ArgumentMetadata,
  Type,
  ValidationError,
  ValidationPipe,
  ValidationPipeOptions,
} from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { FieldProblem, invalid, invalidFields, TernError } from './errors';

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
 * @OpaqueJson on the body's DTO class; see unstorable.
 */
const OPAQUE_JSON = new WeakMap<object, string[][]>();

/** Marks fields of a body DTO as opaque JSON (see OPAQUE_JSON): `['events', '[]', 'data']`. */
export function OpaqueJson(...paths: string[][]): ClassDecorator {
  return (target) => {
    OPAQUE_JSON.set(target, paths);
  };
}

export const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';
export const SURROGATE_MESSAGE = 'must be well-formed Unicode: it holds a lone surrogate';
export const INFINITE_MESSAGE = 'is a number too large for JSON (it would be stored as null)';

/** A lone surrogate: with the u flag a well-formed pair is one code point, not Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/** What is wrong with a string or key Postgres is to store, or null. */
function unstorableText(s: string): string | null {
  if (s.includes('\u0000')) return NUL_MESSAGE;
  if (LONE_SURROGATE.test(s)) return SURROGATE_MESSAGE;
  return null;
}

/**
 * The first value in a request that Postgres cannot store as sent, or null: its path as
 * refusedKeyPath gives it (`name`, `events[0].idempotencyKey`, `metadata.note`; `` for the value
 * itself) and what is wrong.
 * - A NUL (U+0000) in a string or key: Postgres stores none in text or jsonb (SQLSTATE 22021,
 *   22P05). A tenant's name, an idempotency key or a path parameter holding one was a 500.
 * - A lone surrogate in a string or key: jsonb refuses its escape (22P02, a 500), and text stores
 *   U+FFFD in its place, so two different idempotency keys became one.
 * - A number JSON.parse read as Infinity (`1e309`): JSON.stringify writes it `null`, so an event's
 *   data or a JSON Schema (`{"maximum": 1e309}`) was stored as something else than was sent.
 *
 * `opaque`: the fields whose JSON Tern stores as the text it is (see OpaqueJson). Inside them
 * strings and keys are not looked at (a NUL or a lone surrogate is written as its JSON escape and
 * sent as such), numbers still are.
 */
export function unstorable(
  value: unknown,
  opaque: string[][] = [],
): { path: string; message: string } | null {
  const found = unstorableIn(value, opaque, false);
  if (found === null) return null;
  const path = found.path.startsWith('.') ? found.path.slice(1) : found.path;
  return { path, message: found.message };
}

/** The opaque paths as seen one step down, through `step` (a key, or `[]` for an array item). */
function opaqueBelow(opaque: string[][], step: string): string[][] {
  return opaque.length ? opaque.filter((p) => p[0] === step).map((p) => p.slice(1)) : opaque;
}

/** unstorable's walk: the path below `value` (`.a[1].b`); `opaque` as seen from here. */
function unstorableIn(
  value: unknown,
  opaque: string[][],
  inOpaque: boolean,
): { path: string; message: string } | null {
  if (typeof value === 'string') {
    const message = inOpaque ? null : unstorableText(value);
    return message === null ? null : { path: '', message };
  }
  if (typeof value === 'number')
    return Number.isFinite(value) ? null : { path: '', message: INFINITE_MESSAGE };
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return null;
  if (Array.isArray(value)) {
    const below = opaqueBelow(opaque, '[]');
    for (let i = 0; i < value.length; i++) {
      const found = unstorableIn(value[i], below, inOpaque);
      if (found !== null) return { path: `[${i}]${found.path}`, message: found.message };
    }
    return null;
  }
  for (const key in value) {
    const keyMessage = inOpaque ? null : unstorableText(key);
    if (keyMessage !== null) return { path: `.${key}`, message: keyMessage };
    const below = opaqueBelow(opaque, key);
    const found = unstorableIn(
      (value as Record<string, unknown>)[key],
      below,
      inOpaque || below.some((p) => p.length === 0),
    );
    if (found !== null) return { path: `.${key}${found.path}`, message: found.message };
  }
  return null;
}

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

/** declaredFields' answers: a class's decorators are all applied once it is defined. */
const DECLARED = new WeakMap<Type<unknown>, string[]>();

/**
 * The properties a DTO class declares (class-validator's metadata, its parents' included). Read once
 * per class: withoutEmpty asks on every request with a query, and the metadata is a scan of every
 * class's.
 */
function declaredFields(metatype: Type<unknown>): string[] {
  let fields = DECLARED.get(metatype);
  if (!fields) {
    fields = [
      ...new Set(
        getMetadataStorage()
          .getTargetValidationMetadatas(metatype, '', true, false)
          .map((m) => m.propertyName),
      ),
    ];
    DECLARED.set(metatype, fields);
  }
  return fields;
}

/**
 * A query string's empty values (`?status=&limit=`) as not given: a URL filled in from the contract's
 * `?status=&eventType=...` template, some of it left blank, lists as the same URL without those.
 * Only the query DTO's own fields: an unknown or refused key (`?bogus=`, `?constructor=`) is still
 * named by the checks after this one. A repeated field keeps its values that are not empty.
 */
export function withoutEmpty(query: unknown, metatype: ArgumentMetadata['metatype']): unknown {
  if (query === '') return undefined;
  if (query === null || typeof query !== 'object' || Array.isArray(query)) return query;
  if (!metatype || metatype === Object) return query;
  const out: Record<string, unknown> = { ...query };
  for (const field of declaredFields(metatype)) {
    if (!Object.hasOwn(out, field)) continue;
    const v = out[field];
    const kept = Array.isArray(v) ? v.filter((x) => x !== '') : v;
    if (kept === '' || (Array.isArray(kept) && kept.length === 0)) delete out[field];
    else out[field] = Array.isArray(kept) && kept.length === 1 ? kept[0] : kept;
  }
  return out;
}

/**
 * Nest's ValidationPipe, refusing REFUSED_KEYS (400 naming the key) instead of deleting them, and a
 * value Postgres cannot store as sent (see unstorable) in a body, query or path parameter (400
 * naming the field).
 */
class TernValidationPipe extends ValidationPipe {
  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'query') value = withoutEmpty(value, metadata.metatype);
    if (metadata.type !== 'custom') {
      const dto = metadata.type === 'body' && metadata.metatype;
      const bad = unstorable(value, (dto && OPAQUE_JSON.get(dto)) || []);
      if (bad !== null) throw invalid(bad.path || metadata.data || metadata.type, bad.message);
    }
    return super.transform(value, metadata);
  }

  protected stripProtoKeys(value: unknown): void {
    const at = refusedKeyPath(value);
    if (at !== null) throw invalid(at, REFUSED_KEY_MESSAGE);
  }
}

const PIPE_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
};

export function validationPipe(): ValidationPipe {
  return new TernValidationPipe({
    ...PIPE_OPTIONS,
    exceptionFactory: (errors) => invalidFields(flattenValidationErrors(errors)),
  });
}

/** What checkBody's pipe throws for class-validator's errors, told apart from a refusal. */
class ShapeErrors extends Error {
  constructor(readonly errors: ValidationError[]) {
    super('the body has shape problems');
  }
}

let shapePipe: TernValidationPipe | undefined;

/** A body checked by checkBody. */
export interface CheckedBody<T> {
  /** The fields whose own shape is fine; when there are no problems, the body as a T. */
  fields: Partial<T>;
  /** Its shape problems, as the global pipe would have named them. */
  problems: FieldProblem[];
}

/**
 * Checks a body as the global pipe checks a `@Body() dto: T`, but returns the shape problems
 * instead of throwing them, so a route can check the well-shaped fields its own way and answer
 * every problem in one 400 (invalidBody). A refused key or an unstorable value is still thrown,
 * alone, as the global pipe throws it. The route declares its body `unknown`, which the global
 * pipe only looks at for unstorable values, and documents it with `@ApiBody({ type: T })`.
 * Not for a body class with @OpaqueJson fields: the global pipe, seeing no class, would refuse a NUL
 * inside them before this runs.
 */
export async function checkBody<T extends object>(
  value: unknown,
  metatype: Type<T>,
): Promise<CheckedBody<T>> {
  shapePipe ??= new TernValidationPipe({
    ...PIPE_OPTIONS,
    exceptionFactory: (errors) => new ShapeErrors(errors),
  });
  try {
    return {
      fields: (await shapePipe.transform(value, { type: 'body', metatype })) as T,
      problems: [],
    };
  } catch (e) {
    if (!(e instanceof ShapeErrors)) throw e;
    // A top-level error's property is the body's key it is about.
    const bad = new Set(e.errors.map((error) => error.property));
    const fields =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).filter(([key]) => !bad.has(key)))
        : {};
    return { fields: fields as Partial<T>, problems: flattenValidationErrors(e.errors) };
  }
}

/**
 * One 400 for a body of `metatype`: its problems in the order its fields are declared, unknown
 * fields first (class-validator's own order), so a route's problems fall in among the shape ones.
 */
export function invalidBody(metatype: Type<unknown>, problems: FieldProblem[]): TernError {
  const declared = declaredFields(metatype);
  const rank = (p: FieldProblem) => declared.indexOf(p.field.split(/[.[]/, 1)[0]);
  return invalidFields([...problems].sort((a, b) => rank(a) - rank(b)));
}
