// Recognises Postgres errors a service turns into domain errors (a duplicate key is a 409, not a 500).
import { QueryFailedError } from 'typeorm';

/** The SQLSTATE of a failed query (e.g. `23505` unique violation), or undefined. */
export function pgErrorCode(err: unknown): string | undefined {
  if (err instanceof QueryFailedError)
    return (err.driverError as { code?: string } | undefined)?.code;
  return (err as { code?: unknown } | null)?.code === undefined
    ? undefined
    : String((err as { code: unknown }).code);
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
export const DEADLOCK_DETECTED = '40P01';
/**
 * Text Postgres will not store: a byte sequence invalid in the database's encoding, a NUL among
 * them (22021, character_not_in_repertoire), or a character jsonb cannot take, `\u0000` among them
 * (22P05, untranslatable_character).
 */
export const UNSTORABLE_TEXT: readonly string[] = ['22021', '22P05'];
