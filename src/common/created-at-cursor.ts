// Keyset pagination over (created_at DESC, <unique text key> DESC) for tables whose ids do not sort by
// time (operator-chosen tenant ids, event type names). The cursor keeps created_at to the microsecond.
import { decodeCursor } from './pagination';
import { invalid } from './errors';

/** SQL for a row's created_at as an exact UTC text (`2026-01-01T00:00:00.123456Z`), to put in cursors. */
export const createdAtKeySql = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const CREATED_AT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * Whether a CREATED_AT_KEY text names a time that exists, in years 1-9999 as Postgres takes them (a
 * hand-made `2024-02-30` or month 13 was a 500 from Postgres).
 */
function isRealTime(text: string): boolean {
  const ms = Date.parse(`${text.slice(0, 23)}Z`);
  return (
    !Number.isNaN(ms) &&
    new Date(ms).toISOString().slice(0, 19) === text.slice(0, 19) &&
    text.slice(0, 4) !== '0000'
  );
}

/** The (createdAt, key) pair of a cursor made from `createdAtKeySql`, or null on the first page. */
export function decodeCreatedAtCursor(
  cursor: string | undefined,
): { createdAt: string; key: string } | null {
  const parts = decodeCursor(cursor, 2);
  if (!parts) return null;
  const [createdAt, key] = parts;
  if (
    typeof createdAt !== 'string' ||
    !CREATED_AT_KEY.test(createdAt) ||
    !isRealTime(createdAt) ||
    typeof key !== 'string'
  )
    throw invalid('cursor', 'is not a cursor this list returned');
  return { createdAt, key };
}
