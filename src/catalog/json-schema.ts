// Compiles an event type's JSON Schema with ajv. Draft-07 by default; a `$schema` naming draft 2019-09 or
// 2020-12 selects that dialect. No framework imports.
import Ajv, { ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { RegExpEngine, RegExpLike } from 'ajv/dist/types';
import { RE2JS } from 're2js';

export type { ValidateFunction };

/**
 * `pattern` and `patternProperties` run on RE2 (re2js, pure JavaScript), whose matching takes time
 * linear in the input: with JavaScript's backtracking RegExp, a pattern such as `^(a+)+$` and 31
 * characters of data held the API's event loop for a minute (ReDoS), and the data comes from the
 * operator's product, often from its users. RE2 reads JavaScript's escapes (translateRegExp) but
 * has no lookahead and no backreferences: a schema using them is refused when saved (see
 * schemaProblem), and one saved before this engine keeps JavaScript's RegExp (lenient).
 */
const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string, u: string): RegExpLike => {
    const rx = RE2JS.compile(RE2JS.translateRegExp(pattern));
    // ajv keys compiled patterns by toString(): one per pattern.
    const like = { test: (s: string) => rx.test(s), toString: () => `/${pattern}/${u}` };
    return like;
  },
  { code: 'linearRegExp' }, // for ajv's standalone code, which Tern does not generate
);

const OPTIONS = { allErrors: true, strict: false } as const;

function ajvFor(schema: Record<string, unknown>, lenient: boolean): Ajv {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  const options = lenient ? OPTIONS : { ...OPTIONS, code: { regExp: linearRegExp } };
  // A fresh instance per schema: two types may use the same `$id`, which one instance would refuse.
  const ajv = dialect.includes('2020-12')
    ? new Ajv2020(options)
    : dialect.includes('2019-09')
      ? new Ajv2019(options)
      : new Ajv(options);
  addFormats(ajv);
  return ajv;
}

/**
 * A validator for `schema`; throws an Error saying why when it is not a usable JSON Schema. Its
 * patterns run on RE2; `lenient`: a schema whose patterns RE2 cannot read (saved before Tern used
 * it) gets JavaScript's RegExp instead of failing.
 */
export function compileSchema(
  schema: Record<string, unknown>,
  options: { lenient?: boolean } = {},
): ValidateFunction {
  if (schema.$async === true) throw new Error('asynchronous schemas ($async) are not supported');
  try {
    return ajvFor(schema, false).compile(schema);
  } catch (e) {
    if (!options.lenient || !/error parsing regexp/.test((e as Error).message)) throw e;
    return ajvFor(schema, true).compile(schema);
  }
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

/** Values every schema is tried on before it is accepted (see schemaProblem). */
const PROBES: unknown[] = [{}, [], '', 0, null, true, { a: {} }, [{}]];

/**
 * Why `schema` is not a usable JSON Schema, or null when it compiles and checks a few plain values
 * without running out of stack.
 */
export function schemaProblem(schema: Record<string, unknown>): string | null {
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
