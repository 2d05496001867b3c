// Compiles an event type's JSON Schema with ajv. Draft-07 by default; a `$schema` naming draft 2019-09 or
// 2020-12 selects that dialect. No framework imports.
import Ajv, { ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { RegExpEngine, RegExpLike, SchemaValidateFunction } from 'ajv/dist/types';
import { RE2JS } from 're2js';

export type { ValidateFunction };

/** JavaScript's `\s`, which RE2's (`[\t\n\f\r ]`) is narrower than. */
const JS_SPACE =
  '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/**
 * A JavaScript pattern (u mode) rewritten so RE2 reads it the same way, or null when it uses what
 * RE2 lacks or reads otherwise and cannot be rewritten here: `.` (RE2's matches `\r`, U+2028 and
 * U+2029), `\s`/`\S` (RE2's is ASCII), a surrogate pair written as two `\u` escapes (one code point
 * to JavaScript, two to RE2), `[` in a class (RE2 reads `[:digit:]` there as a POSIX class);
 * backreferences (`\k<name>`, `\1`: RE2 reads them as text or octal) and inline modifiers (`(?i:`)
 * give null. The rest is RE2JS.translateRegExp's.
 */
export function forRe2(pattern: string): string | null {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c !== '\\') {
      // `(?i:` and the like (modifiers, newer JavaScript) change what `.` and the rest mean.
      if (c === '(' && !inClass && /^\?-?[ims]/.test(pattern.slice(i + 1, i + 4))) return null;
      if (c === '[' && inClass) {
        out += '\\['; // RE2 would read `[:digit:]` in a class as a POSIX class
        continue;
      }
      if (c === '[') inClass = true;
      else if (c === ']' && inClass) inClass = false;
      out += c === '.' && !inClass ? '[^\\n\\r\\u2028\\u2029]' : c;
      continue;
    }
    const next = pattern[i + 1] ?? '';
    const pair = /^u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})/i.exec(pattern.slice(i + 1));
    if (pair) {
      const high = parseInt(pair[1], 16) - 0xd800;
      const low = parseInt(pair[2], 16) - 0xdc00;
      out += `\\u{${(high * 0x400 + low + 0x10000).toString(16)}}`;
      i += pair[0].length;
      continue;
    }
    // A backreference: RE2 has none, and reads `\8` as `8` and `\10` as an octal escape.
    if (next === 'k' || /[1-9]/.test(next) || (next === 'S' && inClass)) return null;
    if (next === 's') out += inClass ? JS_SPACE : `[${JS_SPACE}]`;
    else if (next === 'S') out += `[^${JS_SPACE}]`;
    else out += c + next;
    i++;
  }
  return out;
}

/**
 * An ajv engine for patterns: each must be one JavaScript's RegExp reads (it throws otherwise), and
 * runs on RE2 with JavaScript's meaning (forRe2); one RE2 cannot take goes to `withoutRe2`, given
 * the pattern and its RegExp. `code` names the engine in ajv's standalone code, which Tern does not
 * generate.
 */
function re2Engine(
  code: string,
  withoutRe2: (pattern: string, js: RegExp) => RegExpLike,
): RegExpEngine {
  const engine = (pattern: string, u: string): RegExpLike => {
    const js = new RegExp(pattern, u);
    const rewritten = forRe2(pattern);
    if (rewritten !== null) {
      try {
        const rx = RE2JS.compile(RE2JS.translateRegExp(rewritten));
        // ajv keys compiled patterns by toString(): one per pattern.
        const like = { test: (s: string) => rx.test(s), toString: () => js.toString() };
        return like;
      } catch {
        // RE2 cannot take it
      }
    }
    return withoutRe2(pattern, js);
  };
  return Object.assign(engine, { code });
}

/**
 * The engine of a schema's `pattern` and `patternProperties` when it is saved. JavaScript's RegExp
 * backtracks: `^(a+)+$` and 31 characters of data held the API's event loop for a minute (ReDoS),
 * and the data comes from the operator's product, often from its users. So a pattern runs on RE2
 * (re2js, pure JavaScript), whose matching time is linear in the data, rewritten to mean what it
 * means to JavaScript (forRe2). A pattern RE2 cannot take (lookaround, backreferences,
 * `\p{Letter}`, counts over 1000) is refused: no check short of running it shows such a pattern
 * safe on a backtracking engine (`^(?!b)(a|a)*$` has no nested quantifier and took 13 s). Every
 * pattern must also be one JavaScript's RegExp reads, so a schema means the same to other
 * validators.
 */
export const checkedRegExp = re2Engine('checkedRegExp', (_pattern, js) => {
  throw new Error(
    `pattern ${js} uses what the linear-time engine (RE2) lacks (lookaround, backreferences, ` +
      'long property names such as \\p{Letter}, counts over 1000)',
  );
});

/**
 * The engine of a stored schema's patterns when it is loaded: RE2 where it can, else JavaScript's
 * RegExp, for a type saved before Tern checked its patterns; `fellBack` hears each such pattern.
 */
const lenientRegExp = (fellBack: (pattern: string) => void): RegExpEngine =>
  re2Engine('lenientRegExp', (pattern, js) => {
    fellBack(pattern);
    return js;
  });

/** JSON text of a value with every object's keys sorted: equal JSON values, equal texts. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

/**
 * `uniqueItems` by each item's canonical JSON in a Map: linear in the data. ajv's own compares
 * every pair of items that are objects or arrays, and 32,000 small arrays in one event's data held
 * the API's event loop for six seconds. Same answer and the same error as ajv's: ajv looks from the
 * last item back and names the last item that repeats an earlier one (i) and the nearest such
 * earlier one (j).
 */
const uniqueItems: SchemaValidateFunction = (unique: boolean, data: unknown): boolean => {
  if (!unique || !Array.isArray(data)) return true;
  const last = new Map<string, number>();
  let repeat: { i: number; j: number } | null = null;
  for (let k = 0; k < data.length; k++) {
    const key = canonicalJson(data[k]);
    const earlier = last.get(key);
    if (earlier !== undefined) repeat = { i: k, j: earlier };
    last.set(key, k);
  }
  if (repeat === null) return true;
  uniqueItems.errors = [
    {
      keyword: 'uniqueItems',
      message: `must NOT have duplicate items (items ## ${repeat.j} and ${repeat.i} are identical)`,
      params: repeat,
    },
  ];
  return false;
};

const OPTIONS = { allErrors: true, strict: false } as const;

function ajvFor(schema: Record<string, unknown>, regExp: RegExpEngine): Ajv {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  const options = { ...OPTIONS, code: { regExp } };
  // A fresh instance per schema: two types may use the same `$id`, which one instance would refuse.
  const ajv = dialect.includes('2020-12')
    ? new Ajv2020(options)
    : dialect.includes('2019-09')
      ? new Ajv2019(options)
      : new Ajv(options);
  addFormats(ajv);
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({
    keyword: 'uniqueItems',
    type: 'array',
    schemaType: 'boolean',
    errors: true,
    validate: uniqueItems,
  });
  return ajv;
}

/**
 * A validator for `schema`; throws an Error saying why when it is not a usable JSON Schema. Its
 * patterns run on RE2 (checkedRegExp). `lenient`, for a stored schema: a pattern RE2 cannot take
 * runs on JavaScript's RegExp instead of failing, and `onLenient` hears which.
 */
export function compileSchema(
  schema: Record<string, unknown>,
  options: { lenient?: boolean; onLenient?: (pattern: string) => void } = {},
): ValidateFunction {
  if (schema.$async === true) throw new Error('asynchronous schemas ($async) are not supported');
  const regExp = options.lenient ? lenientRegExp((p) => options.onLenient?.(p)) : checkedRegExp;
  return ajvFor(schema, regExp).compile(schema);
}

/** What a schema that refers to itself without consuming data does to a validation. */
export const ENDLESS_SCHEMA =
  'refers to itself without end (a $ref loop): no data could be checked';

/**
 * Runs a validator on `data`: true, false (its `errors` say why), or ENDLESS_SCHEMA when the check
 * ran out of stack, which a schema such as `{"$ref": "#"}` does whatever the data (ajv compiles a
 * $ref loop into functions that call each other for ever). Any other failure is thrown.
 */
export function runValidator(validate: ValidateFunction, data: unknown): boolean | string {
  try {
    return validate(data) as boolean;
  } catch (e) {
    if (e instanceof RangeError) return ENDLESS_SCHEMA;
    throw e;
  }
}

/**
 * A schema's JSON at most this long. Compiling takes time on the event loop, and more than linear
 * in the patterns: 4,000 of them (178 KB) took 3.4 s, a 300 KB schema 10 s, and 64 KiB of them
 * (about 1,400) 0.6 s.
 */
export const MAX_SCHEMA_BYTES = 64 * 1024;

/** Objects (event data is one) every schema is tried on before it is accepted (see schemaProblem). */
const PROBES: unknown[] = [{}, ...[{}, [], '', 0, null, true, [{}]].map((a) => ({ a }))];

/**
 * Why `schema` is not a usable JSON Schema, or null when it is at most MAX_SCHEMA_BYTES, compiles
 * and checks a few plain objects without running out of stack.
 */
export function schemaProblem(schema: Record<string, unknown>): string | null {
  const size = Buffer.byteLength(JSON.stringify(schema));
  if (size > MAX_SCHEMA_BYTES) return `is ${size} bytes of JSON; the limit is ${MAX_SCHEMA_BYTES}`;
  let validate: ValidateFunction;
  try {
    validate = compileSchema(schema);
  } catch (e) {
    return `is not a valid JSON Schema: ${(e as Error).message}`;
  }
  for (const probe of PROBES)
    if (runValidator(validate, probe) === ENDLESS_SCHEMA) return ENDLESS_SCHEMA;
  return null;
}
