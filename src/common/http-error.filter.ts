// Maps every failure to the contract's error body `{statusCode, error, message, details?}`.
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { STATUS_OF, TernError } from './errors';
import { pgErrorCode, UNSTORABLE_TEXT } from './db-errors';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: unknown;
}

export function errorBody(statusCode: number, message: string, details?: unknown): ErrorBody {
  const body: ErrorBody = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
  if (details !== undefined) body.details = details;
  return body;
}

/** True for errors that mean Postgres or Redis could not be reached (answer 503, not 500). */
export function isDependencyDown(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
  const codes = [
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'ENOTFOUND',
    '57P01',
    '57P02',
    '57P03',
    '08006',
    '08001',
    '08003',
    '08004',
  ];
  if (e.code && codes.includes(e.code)) return true;
  const msg = e.message ?? '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout|terminating connection|the database system is (starting up|shutting down)|Connection is closed|getaddrinfo/i.test(
    msg,
  );
}

/** A dependency failure, as the error itself or as the cause of a failed query. */
export function isDependencyFailure(err: unknown): boolean {
  return (
    isDependencyDown(err) || (err instanceof QueryFailedError && isDependencyDown(err.driverError))
  );
}

/**
 * True when Postgres went away during COMMIT: the server may have committed before the answer was
 * lost, so the caller cannot be told that nothing was accepted.
 */
export function isLostCommit(err: unknown): boolean {
  return (
    err instanceof QueryFailedError &&
    /^\s*COMMIT\b/i.test(err.query) &&
    isDependencyDown(err.driverError)
  );
}

/** Postgres refused a NUL (U+0000) in text (22021) or jsonb (22P05), which only values can hold. */
export function isNulRefused(err: unknown): boolean {
  if (!UNSTORABLE_TEXT.includes(pgErrorCode(err) ?? '')) return false;
  const e = (err instanceof QueryFailedError ? err.driverError : err) as {
    message?: string;
    detail?: string;
  };
  return /0x00\b|\\u0000/.test(`${e.message ?? ''} ${e.detail ?? ''}`);
}

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body, headers } = this.describe(exception);
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.status(status).json(body);
  }

  describe(exception: unknown): {
    status: number;
    body: ErrorBody;
    headers: Record<string, string>;
  } {
    if (exception instanceof TernError) {
      const status = STATUS_OF[exception.code];
      const headers: Record<string, string> = {};
      const d = exception.details as { retryAfterSeconds?: number } | undefined;
      if (exception.code === 'rate_limited' && d?.retryAfterSeconds)
        headers['retry-after'] = String(d.retryAfterSeconds);
      return { status, body: errorBody(status, exception.message, exception.details), headers };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const resp = exception.getResponse();
      let message = exception.message;
      if (typeof resp === 'object' && resp && 'message' in resp) {
        const m = (resp as { message: unknown }).message;
        message = Array.isArray(m) ? m.join('; ') : String(m);
      }
      return { status, body: errorBody(status, message), headers: {} };
    }
    if (isDependencyFailure(exception)) {
      this.logger.warn(`dependency unavailable: ${(exception as Error).message}`);
      const message = isLostCommit(exception)
        ? 'The database connection was lost while committing: the request may or may not have been applied. Retry it with the same Idempotency-Key.'
        : 'A dependency is unavailable; nothing was accepted. Try again.';
      return { status: 503, body: errorBody(503, message), headers: { 'retry-after': '1' } };
    }
    if (isNulRefused(exception)) {
      // The validation pipe refuses a NUL where a request names it: this is the net for any other
      // way one reaches Postgres. Logged, in case it is Tern's own string and not the client's.
      const errorId = randomUUID();
      this.logger.warn({ err: exception, errorId }, `NUL refused by Postgres ${errorId}`);
      return {
        status: 400,
        body: errorBody(
          400,
          `a value holds the NUL character (U+0000), which cannot be stored (id ${errorId})`,
          { errorId },
        ),
        headers: {},
      };
    }
    const errorId = randomUUID();
    this.logger.error({ err: exception, errorId }, `unhandled error ${errorId}`);
    return {
      status: 500,
      body: errorBody(500, `Internal error (id ${errorId})`, { errorId }),
      headers: {},
    };
  }
}
