// Compiles an event type's JSON Schema with ajv. Draft-07 by default; a `$schema` naming draft 2019-09 or
// 2020-12 selects that dialect. No framework imports.
import Ajv, { ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

export type { ValidateFunction };

const OPTIONS = { allErrors: true, strict: false } as const;

function ajvFor(schema: Record<string, unknown>): Ajv {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  // A fresh instance per schema: two types may use the same `$id`, which one instance would refuse.
  const ajv = dialect.includes('2020-12')
    ? new Ajv2020(OPTIONS)
    : dialect.includes('2019-09')
      ? new Ajv2019(OPTIONS)
      : new Ajv(OPTIONS);
  addFormats(ajv);
  return ajv;
}

/** A validator for `schema`; throws an Error saying why when it is not a usable JSON Schema. */
export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  if (schema.$async === true) throw new Error('asynchronous schemas ($async) are not supported');
  return ajvFor(schema).compile(schema);
}

/** Why `schema` is not a usable JSON Schema, or null when it compiles. */
export function schemaProblem(schema: Record<string, unknown>): string | null {
  try {
    compileSchema(schema);
    return null;
  } catch (e) {
    return `is not a valid JSON Schema: ${(e as Error).message}`;
  }
}
