// Endpoint URL rules: http(s) only, no credentials, normalised by WHATWG URL parsing. Pure code.
import { invalid } from '../common/errors';
import { parseHostAsIp } from './address-guard';

export const MAX_URL_LENGTH = 2048;

export interface TargetUrl {
  /** The normalised URL that is stored and sent to. */
  url: string;
  /** Lowercased host name, or the canonical IP address (IPv6 without brackets). */
  host: string;
  port: number;
}

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * Normalises an endpoint URL or throws `invalid('url', ...)`. WHATWG URL parsing lowercases the
 * host, reads numeric host tricks (`http://2130706433/` is 127.0.0.1) and drops a default port;
 * the fragment is dropped here because it is never sent.
 */
export function normaliseTargetUrl(raw: string): TargetUrl {
  if (typeof raw !== 'string' || raw === '') throw invalid('url', 'must be a non-empty string');
  if (raw.length > MAX_URL_LENGTH)
    throw invalid('url', `must be at most ${MAX_URL_LENGTH} characters`);
  // WHATWG parsing silently strips tabs, newlines and surrounding spaces; refuse them instead so
  // the stored URL is what the user wrote.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u0020\u007f]/.test(raw))
    throw invalid('url', 'must not contain spaces or control characters');
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw invalid('url', 'is not a valid absolute URL');
  }
  if (!(parsed.protocol in DEFAULT_PORT))
    throw invalid('url', `must use http or https, not ${parsed.protocol.replace(/:$/, '')}`);
  if (parsed.username !== '' || parsed.password !== '')
    throw invalid('url', 'must not contain credentials (user:password@)');
  if (parsed.hostname === '') throw invalid('url', 'must name a host');
  // Port 0 is no port a server listens on: every attempt would fail to connect.
  if (parsed.port === '0') throw invalid('url', 'must not use port 0');
  parsed.hash = '';
  const url = parsed.href;
  if (url.length > MAX_URL_LENGTH)
    throw invalid('url', `must be at most ${MAX_URL_LENGTH} characters once normalised`);
  const ip = parseHostAsIp(parsed.hostname);
  return {
    url,
    host: ip ?? parsed.hostname,
    port: parsed.port === '' ? DEFAULT_PORT[parsed.protocol] : Number(parsed.port),
  };
}
