// Rules for an endpoint's custom headers: valid names and values, and never a header Tern sets
// itself or one that changes how the request is framed. Pure code.
import type { FieldProblem } from '../common/errors';

/** Header names (lowercase) an endpoint may not set. */
export const RESERVED_HEADERS: readonly string[] = [
  // what every delivery carries (the contract's receiver table)
  'content-type',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-webhook-event',
  'x-webhook-delivery-id',
  'x-webhook-retry',
  // framing and connection handling, owned by the HTTP client
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  // the HTTP client (undici) refuses these at send time, so they would only make every send fail
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
];

export const MAX_HEADERS = 20;
export const MAX_HEADER_NAME_LENGTH = 256;
export const MAX_HEADER_VALUE_LENGTH = 4096;

/** RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a field value may hold (RFC 9110 field-vchar, SP and HTAB; obs-text included). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function valueProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length > MAX_HEADER_VALUE_LENGTH)
    return `must be at most ${MAX_HEADER_VALUE_LENGTH} characters`;
  if (/[\r\n]/.test(value)) return 'must not contain CR or LF';
  if (value.includes('\0')) return 'must not contain NUL';
  if (!FIELD_VALUE.test(value))
    return 'must hold only visible ASCII, spaces, tabs and Latin-1 characters';
  return null;
}

/** Problems with a `headers` object, each naming its field (`headers.X-Foo`); empty when fine. */
export function checkHeaders(h: unknown): FieldProblem[] {
  if (typeof h !== 'object' || h === null || Array.isArray(h))
    return [{ field: 'headers', message: 'must be an object of header names to string values' }];
  const entries = Object.entries(h as Record<string, unknown>);
  const problems: FieldProblem[] = [];
  if (entries.length > MAX_HEADERS)
    problems.push({ field: 'headers', message: `must hold at most ${MAX_HEADERS} headers` });
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    const field = `headers.${name}`;
    const lower = name.toLowerCase();
    if (name.length === 0 || name.length > MAX_HEADER_NAME_LENGTH || !TOKEN.test(name)) {
      problems.push({ field, message: 'is not a valid HTTP header name' });
      continue;
    }
    if (RESERVED_HEADERS.includes(lower)) {
      problems.push({ field, message: 'is set by Tern and cannot be set by an endpoint' });
      continue;
    }
    if (seen.has(lower)) {
      problems.push({ field, message: 'is given twice (header names ignore case)' });
      continue;
    }
    seen.add(lower);
    const problem = valueProblem(value);
    if (problem) problems.push({ field, message: problem });
  }
  return problems;
}
