// Web sessions for the reviewer UI: a reviewer signs in once with their kubegate token (or through
// an OpenID provider: web/oidc-sign-in.ts) and the browser then holds only an opaque session id
// in a cookie. Input: the token's digest and
// identity at sign-in; the Cookie and X-Kubegate-CSRF headers afterwards. Output: the session, or
// null. Sessions are kept in kubegate's store (identity/sessions.ts; store/sqlite/sessions.ts), so
// a restart keeps reviewers signed in. Neither this module nor the store ever holds the token:
// its digest is kept so that every use re-checks it against the token store, and a revoked token
// ends its sessions at once. Nor does the store hold a session id, only the id's SHA-256: a copy
// of the store's file signs no one in.
//
// Must never accept a session for a changing request without its CSRF token (the cookie is sent
// by the browser on its own; the CSRF token only by kubegate's own page, which read it from the
// session endpoint same-origin), never put the session id anywhere but a Secure, HttpOnly,
// SameSite=Strict cookie, and never compare secrets in a way that leaks their length or prefix.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Session, SessionStore } from '../identity/sessions.js';
import type { Identity } from '../identity/types.js';

/** `__Host-`: the browser only keeps it if Secure, Path=/ and no Domain (no subdomain can set it). */
export const SESSION_COOKIE = '__Host-kubegate-session';
export const CSRF_HEADER = 'x-kubegate-csrf';

export type { Session, SessionStore } from '../identity/sessions.js';

export interface SessionsOptions {
  readonly ttlMs: number;
  readonly now?: () => number;
  /** Past this many live sessions the oldest is dropped (a flood of sign-ins cannot fill the disk). */
  readonly maxSessions?: number;
  /** How often the sessions of open event streams are re-read from the store; default 2 s. */
  readonly recheckMs?: number;
}

/** The sessions' life: new ids, expiry, sign-out, and whether a session still holds right now. */
export class Sessions {
  readonly #store: SessionStore;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #max: number;
  /**
   * Sessions this process ended before their expiry (signed out, dropped, their token revoked),
   * by key, with their expiry: stillLive() answers from memory, and an entry goes once the
   * session would have expired anyway.
   */
  readonly #ended = new Map<string, number>();
  /**
   * Sessions stillLive() was asked about lately (open event streams), by key, with when: re-read
   * from the store every recheckMs, so a sign-out on another replica sharing the store ends this
   * replica's streams too, within recheckMs.
   */
  readonly #watched = new Map<string, number>();
  readonly #recheckMs: number;
  #recheck: NodeJS.Timeout | null = null;

  constructor(store: SessionStore, options: SessionsOptions) {
    this.#store = store;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#max = options.maxSessions ?? 10_000;
    this.#recheckMs = options.recheckMs ?? 2_000;
  }

  /**
   * A new session; resolves to its id (for the cookie) and the session. An OIDC identity (with
   * `oidc`) has no kubegate token (tokenDigest ''); its session ends at `notAfter` (the ID token's
   * exp) when that comes before the TTL.
   */
  async create(
    identity: Pick<Identity, 'user' | 'groups' | 'oidc'>,
    tokenDigest: string,
    notAfter = Infinity,
  ): Promise<{ id: string; session: Session }> {
    const now = this.#now();
    this.#forgetExpired(now);
    const id = randomBytes(32).toString('base64url');
    const session: Session = {
      user: identity.user,
      groups: [...identity.groups],
      tokenDigest,
      ...(identity.oidc === undefined
        ? {}
        : { oidc: { issuer: identity.oidc.issuer, subject: identity.oidc.subject } }),
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      expiresAt: Math.min(now + this.#ttlMs, notAfter),
    };
    const dropped = await this.#store.add(digest(id), session, { now, max: this.#max });
    for (const { key, expiresAt } of dropped) this.#ended.set(key, expiresAt);
    return { id, session };
  }

  /** The live session for `id`, or null (unknown, ended or expired). */
  async get(id: string): Promise<Session | null> {
    const key = digest(id);
    if (this.#ended.has(key)) return null;
    const session = await this.#store.get(key);
    if (session === null) return null;
    if (session.expiresAt <= this.#now()) {
      await this.#store.delete(key);
      return null;
    }
    return session;
  }

  /** Ends the session (sign-out, revoked token): stillLive() is false from this call on. */
  async delete(id: string): Promise<void> {
    const key = digest(id);
    // Before the store answers: a live event stream checking in between must already see it end.
    this.#ended.set(key, Number.MAX_SAFE_INTEGER);
    let expiresAt = this.#now() + this.#ttlMs;
    try {
      expiresAt = (await this.#store.get(key))?.expiresAt ?? expiresAt;
      await this.#store.delete(key);
    } finally {
      // Remembered until it would have expired anyway; then expiry alone says it is over.
      this.#ended.set(key, expiresAt);
    }
  }

  /**
   * Whether the session `get` returned for `id` still holds, from memory alone (a live event
   * stream asks between events): not ended by this process and not expired. A session ended by
   * another replica sharing the store is noticed by the next get(), and here within recheckMs.
   */
  stillLive(id: string, session: Pick<Session, 'expiresAt'>): boolean {
    const key = digest(id);
    if (session.expiresAt <= this.#now() || this.#ended.has(key)) return false;
    this.#watched.set(key, this.#now());
    if (this.#recheck === null) {
      this.#recheck = setInterval(() => void this.#reread(), this.#recheckMs);
      this.#recheck.unref();
    }
    return true;
  }

  /** Re-reads the watched sessions: one gone from the store (signed out elsewhere) is ended here. */
  async #reread(): Promise<void> {
    const now = this.#now();
    for (const [key, askedAt] of this.#watched) {
      // Nobody asked for a while: its stream closed.
      if (now - askedAt > 30 * this.#recheckMs) {
        this.#watched.delete(key);
        continue;
      }
      // An unreachable store ends nothing: the stream's next request would be refused anyway.
      const stored = await this.#store.get(key).catch(() => undefined);
      if (stored === null) {
        this.#ended.set(key, now + this.#ttlMs);
        this.#watched.delete(key);
      }
    }
    if (this.#watched.size === 0 && this.#recheck !== null) {
      clearInterval(this.#recheck);
      this.#recheck = null;
    }
  }

  #forgetExpired(now: number): void {
    for (const [key, expiresAt] of this.#ended) if (expiresAt <= now) this.#ended.delete(key);
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
  return secretCookie(cookie, SESSION_COOKIE);
}

/**
 * The value of cookie `name` when it is named once and holds 32 random bytes in base64url (as
 * kubegate sets it), else null.
 */
export function secretCookie(cookie: string | readonly string[] | undefined, name: string): string | null {
  if (cookie === undefined) return null;
  const pairs = (typeof cookie === 'string' ? [cookie] : cookie).flatMap((c) => c.split(';'));
  const values = pairs
    .map((pair) => pair.trim())
    .filter((pair) => pair.startsWith(`${name}=`))
    .map((pair) => pair.slice(name.length + 1));
  if (values.length !== 1) return null;
  const id = values[0]!;
  return /^[A-Za-z0-9_-]{43}$/u.test(id) ? id : null;
}
