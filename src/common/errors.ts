// Domain errors with a code. Services (API and worker alike) throw these; the HTTP filter maps the
// code to a status and the contract's error body.

export type ErrorCode =
  | 'invalid'
  | 'unauthorized'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media_type'
  | 'rejected'
  | 'rate_limited'
  | 'unavailable';

export interface FieldProblem {
  field: string;
  message: string;
}

export class TernError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: FieldProblem[] | Record<string, unknown>,
  ) {
    super(message);
    this.name = 'TernError';
  }
}

/** One 400 naming every problem, in the order given: `url: ...; eventTypes[0]: ...`. */
export const invalidFields = (problems: FieldProblem[]) =>
  new TernError(
    'invalid',
    problems.map((p) => `${p.field}: ${p.message}`).join('; ') || 'invalid input',
    problems,
  );

export const invalid = (field: string, message: string) => invalidFields([{ field, message }]);

export const notFound = (what: string) => new TernError('not_found', `${what} not found`);

export const conflict = (message: string) => new TernError('conflict', message);

export const STATUS_OF: Record<ErrorCode, number> = {
  invalid: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  rejected: 422,
  rate_limited: 429,
  unavailable: 503,
};
