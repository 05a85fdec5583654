// Web sessions for the reviewer UI: a reviewer signs in once with their kubegate token and the
// browser then holds only an opaque session id in a cookie. Input: the token's digest and
// identity at sign-in; the Cookie and X-Kubegate-CSRF headers afterwards. Output: the session, or
// null. Sessions live in memory (a restart signs everyone out) and never hold the token itself:
// its digest is kept so that every use re-checks it against the token store, and a revoked token
// ends its sessions at once.
//
// Must never accept a session for a changing request without its CSRF token (the cookie is sent
// by the browser on its own; the CSRF token only by kubegate's own page, which read it from the
// session endpoint same-origin), never put the session id anywhere but a Secure, HttpOnly,
// SameSite=Strict cookie, and never compare secrets in a way that leaks their length or prefix.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../identity/types.js';

/** `__Host-`: the browser only keeps it if Secure, Path=/ and no Domain (no subdomain can set it). */
export const SESSION_COOKIE = '__Host-kubegate-session';
export const CSRF_HEADER = 'x-kubegate-csrf';

export interface Session {
  readonly user: string;
  readonly groups: readonly string[];
  /** SHA-256 of the token the reviewer signed in with. */
  readonly tokenDigest: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export interface SessionStoreOptions {
  readonly ttlMs: number;
  readonly now?: () => number;
  /** Past this many live sessions the oldest is dropped (a flood of sign-ins cannot grow memory). */
  readonly maxSessions?: number;
}

export class SessionStore {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #max: number;
  /** Keyed by the id's SHA-256: a timing difference in the map lookup reveals nothing of an id. */
  readonly #byDigest = new Map<string, Session>();

  constructor(options: SessionStoreOptions) {
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#max = options.maxSessions ?? 10_000;
  }

  /** A new session; returns its id (for the cookie) and the session. */
  create(identity: Pick<Identity, 'user' | 'groups'>, tokenDigest: string): { id: string; session: Session } {
    this.#sweep();
    while (this.#byDigest.size >= this.#max) {
      const oldest = this.#byDigest.keys().next().value!;
      this.#byDigest.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const session: Session = {
      user: identity.user,
      groups: [...identity.groups],
      tokenDigest,
      csrfToken: randomBytes(32).toString('base64url'),
      expiresAt: this.#now() + this.#ttlMs,
    };
    this.#byDigest.set(digest(id), session);
    return { id, session };
  }

  /** The live session for `id`, or null (unknown or expired). */
  get(id: string): Session | null {
    const key = digest(id);
    const session = this.#byDigest.get(key);
    if (session === undefined) return null;
    if (session.expiresAt <= this.#now()) {
      this.#byDigest.delete(key);
      return null;
    }
    return session;
  }

  delete(id: string): void {
    this.#byDigest.delete(digest(id));
  }

  get size(): number {
    return this.#byDigest.size;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, session] of this.#byDigest) if (session.expiresAt <= now) this.#byDigest.delete(key);
  }
}

const digest = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** Equal without leaking where they differ (both are hashed first, so lengths may differ). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(digest(a), 'hex'), Buffer.from(digest(b), 'hex'));
}

/** The Set-Cookie value that stores the session id for `maxAgeMs`. */
export function sessionCookie(id: string, maxAgeMs: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}`;
}

/** The Set-Cookie value that removes it. */
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/**
 * The session id from a Cookie header (HTTP/2 may send several), or null. A cookie named twice is
 * refused: which one a server takes differs, and only a cookie-tossing attacker sends two.
 */
export function sessionIdOf(cookie: string | readonly string[] | undefined): string | null {
  if (cookie === undefined) return null;
  const pairs = (typeof cookie === 'string' ? [cookie] : cookie).flatMap((c) => c.split(';'));
  const values = pairs
    .map((pair) => pair.trim())
    .filter((pair) => pair.startsWith(`${SESSION_COOKIE}=`))
    .map((pair) => pair.slice(SESSION_COOKIE.length + 1));
  if (values.length !== 1) return null;
  const id = values[0]!;
  return /^[A-Za-z0-9_-]{43}$/u.test(id) ? id : null;
}
