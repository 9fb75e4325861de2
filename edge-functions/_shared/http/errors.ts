/**
 * Typed HTTP errors: thrown anywhere in a handler or middleware, turned into the one JSON error
 * shape `{ "error": { "code", "message", "details?", "requestId" } }` once, in the app's onError.
 *
 *   throw new HttpError(404, 'not_found', 'No such agent');
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what = 'resource') => new HttpError(404, 'not_found', `No such ${what}`);

/** Same status and message for every authentication failure: callers learn nothing about why. */
export const unauthenticated = () =>
  new HttpError(401, 'unauthenticated', 'Missing or invalid credentials', undefined, { 'WWW-Authenticate': 'Bearer' });

export const forbidden = (message: string) => new HttpError(403, 'forbidden', message);

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; requestId: string };
}

export function errorBody(code: string, message: string, requestId: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message, requestId } : { code, message, details, requestId } };
}
