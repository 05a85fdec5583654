// ID tokens kubegate already verified, so that the next request with the same token costs a
// hash and a map lookup instead of a signature check (identify runs for every request; kubectl
// sends the same token for an hour). Keyed by the token's SHA-256: the process never keeps a
// usable token in memory. Bounded (least recently used goes first), and an entry never outlives
// its token's exp, nor the signing key that verified it: when the issuer stops publishing a key,
// the entries it verified are dropped (oidc-issuer.ts tells; see forgetKeys).
import { createHash } from 'node:crypto';
import type { Identity } from './types.js';

/** One verified token. `revoked` turns true when it is dropped, for a long request's stillValid. */
export interface VerifiedToken {
  readonly identity: Identity;
  /** exp, in epoch milliseconds. */
  readonly expiresAtMs: number;
  readonly issuer: string;
  /** The kid of the key that verified it (undefined when the token named none). */
  readonly kid: string | undefined;
  revoked: boolean;
}

export const DEFAULT_CACHE_SIZE = 10_000;

/** The key a token is cached under. base64 of SHA-256: shorter to hash into the Map than hex. */
export function cacheKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64');
}

export class VerifiedTokens {
  readonly #max: number;
  // A Map keeps insertion order: re-inserting on a hit makes the first key the least recent.
  readonly #entries = new Map<string, VerifiedToken>();

  constructor(max = DEFAULT_CACHE_SIZE) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry for `key` while it is valid at `nowMs`, or undefined (an expired one is dropped). */
  get(key: string, nowMs: number): VerifiedToken | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (nowMs >= entry.expiresAtMs || entry.revoked) {
      entry.revoked = true;
      return undefined;
    }
    this.#entries.set(key, entry);
    return entry;
  }

  /** Keeps `entry` unless it is already past its exp; the least recently used goes when full. */
  set(key: string, entry: VerifiedToken, nowMs: number): void {
    if (nowMs >= entry.expiresAtMs) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, entry);
  }

  /**
   * Drops every entry of `issuer` verified by one of `kids`, or all of the issuer's entries for
   * 'all' (a key without a kid went away: which tokens it verified cannot be told apart).
   */
  forgetKeys(issuer: string, kids: ReadonlySet<string> | 'all'): number {
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.issuer !== issuer) continue;
      // A token that named no kid may have been verified by the key that went: dropped too.
      if (kids !== 'all' && entry.kid !== undefined && !kids.has(entry.kid)) continue;
      entry.revoked = true;
      this.#entries.delete(key);
      dropped++;
    }
    return dropped;
  }
}
