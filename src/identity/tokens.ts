// Bearer tokens that kubegate issues (`kubegate user add --token`) and accepts (identify stage).
// Backed by <dataDir>/tokens.json, which holds only the SHA-256 of each token with its user and
// groups: a copy of the file lets no one in. Input: a presented token. Output: its Identity, or
// null. Must never store or log a plaintext token (issue() returns it once, to be written into
// the user's kubeconfig), never write the file other than atomically with mode 0600, and never
// lose another writer's entries.
//
// Tokens are 32 random bytes, so a fast unsalted hash is enough: there is nothing to guess.
//
// Several processes write the file (the gateway, and `kubegate user add` run beside it). So
//   - issue() and revoke() re-read the file, change it and write it back, one at a time within a
//     process; entries another process added meanwhile are kept (two processes writing in the
//     same few milliseconds can still race: the last rename wins);
//   - lookup() stays synchronous and in memory, but at most once per TOKEN_FILE_RECHECK_MS it
//     stats the file and, if it was replaced, re-reads it. A token added or revoked by another
//     process therefore takes effect within a second, without a watcher to start and stop.
//     A file that disappears or is damaged while kubegate runs fails closed: no token is
//     accepted until it is restored (a revocation written by hand must never be ignored).

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { KubegateError } from '../errors.js';
import { checkSubject, nameProblem } from './subject-names.js';
import type { Authenticator } from './authenticator.js';
import type { Identity } from './types.js';
import { writeFileAtomic } from './write-file-atomic.js';

/** Every token starts with this, so that secret scanners and people can recognise one. */
export const TOKEN_PREFIX = 'kg_';
export const TOKEN_FILE_RECHECK_MS = 1000;

const TokenRecordSchema = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/u),
  user: z.string().min(1),
  groups: z.array(z.string()),
  /** For an agent's token: the person it acts for (shown and audited; identity/agents.ts). */
  onBehalfOf: z
    .string()
    .refine((v) => nameProblem(v) === null, { error: 'not a usable name' })
    .optional(),
  createdAt: z.string(),
});
const TokenFileSchema = z.strictObject({ version: z.literal(1), tokens: z.array(TokenRecordSchema) });

type TokenRecord = z.infer<typeof TokenRecordSchema>;

export interface TokenStoreOptions {
  /** Clock for the re-check interval and createdAt; default Date.now. */
  readonly now?: () => number;
}

export class TokenStore {
  readonly file: string;
  readonly #dataDir: string;
  readonly #now: () => number;
  #byHash = new Map<string, Identity>();
  #fingerprint: string | null = null;
  #checkedAt: number;
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(dataDir: string, now: () => number) {
    this.#dataDir = dataDir;
    this.file = join(dataDir, 'tokens.json');
    this.#now = now;
    this.#checkedAt = now();
  }

  /** The store of `dataDir`; a missing file is an empty store, a damaged one KG_CONFIG_INVALID. */
  static async open(dataDir: string, options: TokenStoreOptions = {}): Promise<TokenStore> {
    const store = new TokenStore(dataDir, options.now ?? Date.now);
    await store.reload();
    return store;
  }

  /** The identity a token was issued for, or null for a token kubegate does not know. */
  lookup(token: string): Identity | null {
    if (this.#now() - this.#checkedAt >= TOKEN_FILE_RECHECK_MS) this.#recheck();
    return this.#byHash.get(tokenDigest(token)) ?? null;
  }

  /**
   * The identity for a token's SHA-256 (hex), or null once it is revoked: web sessions keep the
   * digest, never the token, and re-check it on every request so that revocation ends them.
   */
  lookupDigest(digest: string): Identity | null {
    if (this.#now() - this.#checkedAt >= TOKEN_FILE_RECHECK_MS) this.#recheck();
    return this.#byHash.get(digest) ?? null;
  }

  /**
   * A new token for `user` in `groups` (for an agent, optionally naming the person it acts for).
   * The plaintext is returned here and stored nowhere.
   */
  async issue(
    user: string,
    groups: readonly string[],
    options: { readonly onBehalfOf?: string } = {},
  ): Promise<string> {
    checkSubject(user, groups);
    if (options.onBehalfOf !== undefined) checkOnBehalfOf(options.onBehalfOf);
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const record: TokenRecord = {
      sha256: tokenDigest(token),
      user,
      groups: [...groups],
      ...(options.onBehalfOf === undefined ? {} : { onBehalfOf: options.onBehalfOf }),
      createdAt: new Date(this.#now()).toISOString(),
    };
    await this.#mutate((records) => [...records, record]);
    return token;
  }

  /** Revokes every token of `user`; returns how many there were. */
  async revoke(user: string): Promise<number> {
    let removed = 0;
    await this.#mutate((records) => {
      const kept = records.filter((r) => r.user !== user);
      removed = records.length - kept.length;
      return kept;
    });
    return removed;
  }

  /** Re-reads the file now (startup, or SIGHUP); throws KG_CONFIG_INVALID if it is damaged. */
  async reload(): Promise<void> {
    const { records, fingerprint } = await this.#readFile();
    this.#apply(records, fingerprint);
  }

  #mutate(change: (records: readonly TokenRecord[]) => readonly TokenRecord[]): Promise<void> {
    const run = this.#writes.then(async () => {
      const { records } = await this.#readFile();
      const next = change(records);
      await mkdir(this.#dataDir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, tokens: next }, null, 2)}\n`, 0o600);
      this.#apply(next, fingerprintOf(await stat(this.file)));
    });
    this.#writes = run.catch(() => undefined); // the caller gets the error; the queue goes on
    return run;
  }

  async #readFile(): Promise<{ records: readonly TokenRecord[]; fingerprint: string | null }> {
    try {
      // Stat before reading: if the file is replaced in between, the next check re-reads it.
      const fingerprint = fingerprintOf(await stat(this.file));
      return { records: parseTokenFile(await readFile(this.file, 'utf8'), this.file), fingerprint };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], fingerprint: null };
      if (err instanceof KubegateError) throw err;
      throw new KubegateError('KG_CONFIG_INVALID', `kubegate cannot read its token file ${this.file}`, {
        cause: err,
      });
    }
  }

  #recheck(): void {
    this.#checkedAt = this.#now();
    let fingerprint: string | null;
    try {
      fingerprint = fingerprintOf(statSync(this.file));
    } catch {
      fingerprint = null; // gone (or unreadable): no tokens, see the header
    }
    if (fingerprint === this.#fingerprint) return;
    try {
      const records = fingerprint === null ? [] : parseTokenFile(readFileSync(this.file, 'utf8'), this.file);
      this.#apply(records, fingerprint);
    } catch {
      this.#apply([], fingerprint); // damaged: fail closed until it is fixed
    }
  }

  #apply(records: readonly TokenRecord[], fingerprint: string | null): void {
    const byHash = new Map<string, Identity>();
    for (const r of records) {
      byHash.set(
        r.sha256,
        Object.freeze({
          user: r.user,
          groups: Object.freeze([...r.groups]),
          method: 'token',
          ...(r.onBehalfOf === undefined ? {} : { onBehalfOf: r.onBehalfOf }),
        }),
      );
    }
    this.#byHash = byHash;
    this.#fingerprint = fingerprint;
    this.#checkedAt = this.#now();
  }
}

/** An onBehalfOf name is shown to reviewers and kept in the trail: the rules of a user name. */
function checkOnBehalfOf(person: string): void {
  const problem = nameProblem(person);
  if (problem !== null)
    throw new KubegateError('KG_CONFIG_INVALID', `on-behalf-of name ${JSON.stringify(person)} ${problem}`);
}

function parseTokenFile(text: string, file: string): readonly TokenRecord[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw damaged(file, 'it is not JSON', err);
  }
  const result = TokenFileSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw damaged(file, `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data.tokens;
}

function damaged(file: string, why: string, cause?: unknown): KubegateError {
  return new KubegateError(
    'KG_CONFIG_INVALID',
    `kubegate's token file ${file} is damaged (${why}). Restore it from a backup, or move it aside: every token in it then stops working.`,
    cause === undefined ? undefined : { cause },
  );
}

/** How a token is stored and looked up: its SHA-256, hex. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Changes whenever the file is replaced (rename gives a new inode) or rewritten. */
function fingerprintOf(stats: Stats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

/**
 * The bearer authenticator for kubegate's own tokens: the token's digest names the caller for as
 * long as it is not revoked (a revocation by another process shows within a second).
 */
export function tokenAuthenticator(tokens: Pick<TokenStore, 'lookupDigest'>): Authenticator {
  return {
    reads: 'bearer',
    authenticate({ bearerToken }) {
      const digest = tokenDigest(bearerToken);
      const identity = tokens.lookupDigest(digest);
      if (identity === null) return Promise.resolve(null);
      return Promise.resolve({
        identity,
        stillValid: () => tokens.lookupDigest(digest)?.user === identity.user,
      });
    },
  };
}
