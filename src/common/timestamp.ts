// The timestamps the API takes in queries and bodies (the delivery log's window, a recovery's).
import { ValidateBy, buildMessage, isISO8601 } from 'class-validator';

/** A date, or a date-time that states its offset (a bare local time would depend on the server's zone). */
const TIMESTAMP =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

/**
 * Whether a timestamp is a time JavaScript and Postgres both take: in years 100-9999 once its offset
 * is applied (`9999-12-31T23:00:00-05:00` is in year 10000, and was a 500 from Postgres; strict
 * isISO8601 refuses years before 100 anyway).
 */
function inRange(v: string): boolean {
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) return false;
  const year = new Date(ms).getUTCFullYear();
  return year >= 100 && year <= 9999;
}

/** An ISO 8601 date, or date-time with its offset; the delivery log's since/until, recover's window. */
export const IsTimestamp = () =>
  ValidateBy({
    name: 'isTimestamp',
    validator: {
      validate: (v: unknown) =>
        typeof v === 'string' && TIMESTAMP.test(v) && isISO8601(v, { strict: true }) && inRange(v),
      defaultMessage: buildMessage(
        () =>
          '$property must be an ISO 8601 timestamp with a time zone, in years 100-9999, e.g. 2025-01-31T12:00:00Z',
      ),
    },
  });
