// `kubegate login`'s decisions, without I/O. kubegate login is the exec credential plugin kubectl
// runs before its requests (src/cli/login.ts does the I/O); this module decides, from plain data:
// which cache file holds a sign-in (one per issuer, client ID and scopes), whether a cached sign-in
// can be used as it is, must be refreshed, or needs a new sign-in; whether a cache file may be
// trusted; whether a person can sign in from here; what kubectl is told (ExecCredential) and what
// kubectl told us (KUBERNETES_EXEC_INFO). Client side only: nothing here is on the request path.
// Must never trust a cache file another user could have written or read (it holds a refresh
// token: whoever reads it is the user until it is revoked).

import { createHash } from 'node:crypto';
import { z } from 'zod';

/** What a sign-in is for: one cache file each. */
export interface LoginTarget {
  readonly issuer: string;
  readonly clientId: string;
  /** As asked for; `normaliseScopes` puts them in the one order the cache key uses. */
  readonly scopes: readonly string[];
}

/** A sign-in kept between kubectl commands (the cache file's content). */
export interface CachedSignIn {
  readonly version: 1;
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly idToken: string;
  /** The ID token's `iat` and `exp`, in milliseconds since the epoch. */
  readonly idTokenIssuedAt: number;
  readonly idTokenExpiresAt: number;
  /** Null when the identity provider gave none (then an expired sign-in means a new one). */
  readonly refreshToken: string | null;
}

/** What to do with the cache: hand its token to kubectl, refresh it first, or sign in anew. */
export type CacheDecision = 'use' | 'refresh' | 'sign-in';

/** Refresh this long before the ID token expires (at most; shorter for short-lived tokens). */
export const REFRESH_BEFORE_EXPIRY_MS = 60_000;

/**
 * `openid` first (an OpenID Connect request must carry it), then the others sorted and
 * deduplicated, so `--scope email --scope groups` and `--scope groups --scope email` share a cache.
 */
export function normaliseScopes(scopes: readonly string[]): string[] {
  const rest = [...new Set(scopes.flatMap((s) => s.split(/\s+/u)).filter((s) => s !== '' && s !== 'openid'))];
  return ['openid', ...rest.sort()];
}

/** `<sha256>.json`: the name says nothing about the issuer or the user to someone listing the folder. */
export function cacheFileName(target: LoginTarget): string {
  const key = JSON.stringify([target.issuer, target.clientId, normaliseScopes(target.scopes)]);
  return `${createHash('sha256').update(key).digest('hex')}.json`;
}

const CachedSignInSchema = z.strictObject({
  version: z.literal(1),
  issuer: z.string(),
  clientId: z.string(),
  scopes: z.array(z.string()),
  idToken: z.string().min(1),
  idTokenIssuedAt: z.number().int().nonnegative(),
  idTokenExpiresAt: z.number().int().nonnegative(),
  refreshToken: z.string().min(1).nullable(),
});

/**
 * The cached sign-in for `target`, or null when the text is not one (unreadable, an older format,
 * or a file copied from another issuer, client or scope set): a new sign-in replaces it.
 */
export function parseCachedSignIn(text: string, target: LoginTarget): CachedSignIn | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = CachedSignInSchema.safeParse(json);
  if (!parsed.success) return null;
  const c = parsed.data;
  const same =
    c.issuer === target.issuer &&
    c.clientId === target.clientId &&
    JSON.stringify(normaliseScopes(c.scopes)) === JSON.stringify(normaliseScopes(target.scopes));
  return same ? c : null;
}

/**
 * How long before expiry to refresh: a minute, or a third of the token's lifetime when that is
 * shorter — a 20 s token refreshed a minute early would be refreshed on every command and the
 * cache would never be used.
 */
export function refreshMargin(cached: CachedSignIn): number {
  const lifetime = Math.max(0, cached.idTokenExpiresAt - cached.idTokenIssuedAt);
  return Math.min(REFRESH_BEFORE_EXPIRY_MS, Math.floor(lifetime / 3));
}

export function decide(cached: CachedSignIn | null, nowMs: number): CacheDecision {
  if (cached === null) return 'sign-in';
  if (cached.idTokenExpiresAt - nowMs > refreshMargin(cached)) return 'use';
  return cached.refreshToken === null ? 'sign-in' : 'refresh';
}

/** The parts of a stat that decide whether a cache file may be trusted. */
export interface FileFacts {
  readonly isFile: boolean;
  readonly uid: number;
  /** The permission bits (stat.mode & 0o777 is enough). */
  readonly mode: number;
}

/**
 * Why a cache file must not be trusted, or null when it may be: it must be a regular file of the
 * user running kubegate, readable and writable by that user alone. Anyone else who could write it
 * could plant their own sign-in; anyone who could read it holds the user's refresh token.
 */
export function cacheFileProblem(facts: FileFacts, uid: number): string | null {
  if (!facts.isFile) return 'is not a regular file';
  if (facts.uid !== uid) return `belongs to user ID ${facts.uid}, not to you (${uid})`;
  const others = facts.mode & 0o077;
  if (others !== 0)
    return `is open to other users (mode ${(facts.mode & 0o777).toString(8).padStart(4, '0')})`;
  return null;
}

export const EXEC_API_V1 = 'client.authentication.k8s.io/v1';
export const EXEC_API_V1BETA1 = 'client.authentication.k8s.io/v1beta1';
export type ExecApiVersion = typeof EXEC_API_V1 | typeof EXEC_API_V1BETA1;

/** What kubectl told the plugin in KUBERNETES_EXEC_INFO. */
export interface ExecInfo {
  /** The version to answer in: kubectl refuses an ExecCredential of another version. */
  readonly apiVersion: ExecApiVersion;
  /** spec.interactive: kubectl gave the plugin its terminal; null when kubectl did not say. */
  readonly interactive: boolean | null;
}

/**
 * KUBERNETES_EXEC_INFO, read leniently: without it (a person running `kubegate login` by hand) or
 * when it cannot be read, answer in v1, the version `kubegate user add --oidc` writes.
 */
export function parseExecInfo(value: string | undefined): ExecInfo {
  const fallback: ExecInfo = { apiVersion: EXEC_API_V1, interactive: null };
  if (value === undefined || value === '') return fallback;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return fallback;
  }
  const info = json as { apiVersion?: unknown; spec?: { interactive?: unknown } } | null;
  const apiVersion = info?.apiVersion === EXEC_API_V1BETA1 ? EXEC_API_V1BETA1 : EXEC_API_V1;
  const interactive = typeof info?.spec?.interactive === 'boolean' ? info.spec.interactive : null;
  return { apiVersion, interactive };
}

/** The ExecCredential kubectl reads on stdout: the ID token, valid until its `exp`. */
export function execCredential(apiVersion: ExecApiVersion, token: string, expiresAtMs: number): string {
  // metav1.Time: RFC 3339 in whole seconds, as the API server writes it.
  const expirationTimestamp = new Date(Math.floor(expiresAtMs / 1000) * 1000)
    .toISOString()
    .replace(/\.\d{3}Z$/u, 'Z');
  return JSON.stringify({
    apiVersion,
    kind: 'ExecCredential',
    status: { token, expirationTimestamp },
  });
}

/** What is known, when a sign-in is needed, about whether someone can do it from here. */
export interface SignInSetting {
  /** `--no-browser`: the user asked never to open a browser. */
  readonly noBrowser: boolean;
  /** kubectl's spec.interactive. */
  readonly interactive: boolean | null;
  /** kubectl passes its stderr through: a terminal there means a person reads the sign-in line. */
  readonly stderrIsTerminal: boolean;
}

/**
 * Whether to start a sign-in. Without --no-browser kubegate opens a browser where it can and
 * prints the URL anyway, so it tries. With --no-browser only a person at a terminal can follow the
 * printed URL: without one (a CI job, a script) the sign-in would wait for nobody until it timed
 * out, so kubegate says at once what to do instead.
 */
export function canSignIn(setting: SignInSetting): boolean {
  return !setting.noBrowser || setting.interactive === true || setting.stderrIsTerminal;
}
