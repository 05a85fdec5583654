// The page's only way to kubegate's API (/kubegate/v1/): same-origin fetch with the session
// cookie, JSON in and out, the CSRF token on every changing request, and every error turned into
// an ApiError carrying the Status message the server wrote. Input: a fetch function (tests pass a
// fake). Output: parsed JSON, or an ApiError.
// Must never put the CSRF token anywhere but the X-Kubegate-CSRF header and memory (no storage,
// no URL), never send credentials to another origin (paths are fixed under API_BASE), and never
// show the user anything but the server's own message or words of ours.
import type { Status } from './api-types.js';

export const API_BASE = '/kubegate/v1/';
export const CSRF_HEADER = 'X-Kubegate-CSRF';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when kubegate could not be reached. */
    readonly status: number,
    message: string,
    /** The Status reason (Forbidden, Conflict, …) when the server sent one. */
    readonly reason: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The session is gone: the page is on its way to sign-in, so there is nothing to show. */
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
  /** When false, a 401 is only an error (sign-in itself); by default it also ends the session. */
  readonly redirectOnUnauthorized?: boolean;
}

export interface ApiClient {
  get<T>(path: string, options?: RequestOptions): Promise<T>;
  post<T>(path: string, body: unknown, options?: RequestOptions): Promise<T>;
  del<T>(path: string, options?: RequestOptions): Promise<T>;
  /** The session's CSRF token, or null when signed out. */
  setCsrfToken(token: string | null): void;
}

export interface ApiClientDeps {
  readonly fetch: (input: string, init: RequestInit) => Promise<Response>;
  /** Called on a 401 (the session expired or was revoked). */
  readonly onUnauthorized: () => void;
}

/** `requests/kg-1` → `/kubegate/v1/requests/kg-1`; refuses anything that could leave the API. */
export function apiUrl(path: string): string {
  if (
    path.startsWith('/') ||
    path.includes('//') ||
    path.includes('\\') ||
    /^[a-z][a-z0-9+.-]*:/iu.test(path)
  ) {
    throw new ApiError(0, `not a kubegate API path: ${path}`);
  }
  return `${API_BASE}${path}`;
}

/** The words to show for a failed response: the Status message when there is one. */
export function errorMessage(status: number, statusText: string, body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const message = (body as Partial<Status>).message;
    if (typeof message === 'string' && message.trim() !== '') return message;
  }
  const text = statusText.trim() === '' ? '' : ` ${statusText}`;
  return `kubegate answered HTTP ${status}${text}`;
}

export function createApiClient(deps: ApiClientDeps): ApiClient {
  let csrfToken: string | null = null;

  async function call<T>(method: string, path: string, body: unknown, options: RequestOptions): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (method !== 'GET' && csrfToken !== null) headers[CSRF_HEADER] = csrfToken;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const init: RequestInit = {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
    let response: Response;
    try {
      response = await deps.fetch(apiUrl(path), init);
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'kubegate could not be reached; check the connection and try again');
    }
    let json: unknown = null;
    const text = await response.text();
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
    }
    if (!response.ok) {
      const reason = typeof json === 'object' && json !== null ? (json as Partial<Status>).reason : undefined;
      const error = new ApiError(
        response.status,
        errorMessage(response.status, response.statusText, json),
        typeof reason === 'string' ? reason : null,
      );
      if (response.status === 401 && options.redirectOnUnauthorized !== false) deps.onUnauthorized();
      throw error;
    }
    if (json === null) throw new ApiError(response.status, 'kubegate sent an answer that is not JSON');
    return json as T;
  }

  return {
    get: (path, options = {}) => call('GET', path, undefined, options),
    post: (path, body, options = {}) => call('POST', path, body, options),
    del: (path, options = {}) => call('DELETE', path, undefined, options),
    setCsrfToken(token) {
      csrfToken = token;
    },
  };
}
