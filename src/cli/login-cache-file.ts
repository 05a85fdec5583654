// kubegate login's token cache on disk: ~/.kube/cache/kubegate/<sha256>.json, one file per
// issuer, client ID and scopes (identity/oidc-login-cache.ts decides what the name and content
// mean and which files to trust; this module does the file system). The folder is 0700, the file
// 0600, written in one step (temp file + rename). A lock file beside the cache file keeps two
// kubectl commands started together from refreshing at once: with refresh token rotation the
// second refresh would present a used token, and an identity provider that detects reuse (Hydra,
// Okta, Keycloak) revokes the whole sign-in.
// Must never read a cache file another user could have written or read, never follow a symlink
// there, and never write the tokens anywhere but that file.

import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KubegateError } from '../errors.js';
import { cacheFileName, cacheFileProblem, parseCachedSignIn } from '../identity/oidc-login-cache.js';
import type { CachedSignIn, LoginTarget } from '../identity/oidc-login-cache.js';
import { writeFileAtomic } from '../identity/write-file-atomic.js';

/** ~/.kube/cache/kubegate: beside kubectl's own caches (discovery, http). */
export function defaultCacheDir(home: string): string {
  return join(home, '.kube', 'cache', 'kubegate');
}

export interface LoginCache {
  readonly file: string;
  /** The cached sign-in, or null (none, unreadable, or a file that must not be trusted: removed). */
  read(): Promise<CachedSignIn | null>;
  write(signIn: CachedSignIn): Promise<void>;
  /**
   * Waits until no other kubegate login holds this cache's lock, takes it, and returns its
   * release. A lock whose holder died (kill -9) is taken over. `waiting` hears once, after a
   * second, which process is holding it (another kubectl waiting for its sign-in, say).
   */
  lock(maxWaitMs: number, waiting?: (pid: number) => void): Promise<() => Promise<void>>;
}

export interface LoginCacheOptions {
  readonly dir: string;
  readonly target: LoginTarget;
  /** The user running kubegate (process.getuid()). */
  readonly uid: number;
  /** One line on stderr: why a cache file was set aside. */
  readonly warn: (line: string) => void;
}

export async function openLoginCache(opts: LoginCacheOptions): Promise<LoginCache> {
  await ensurePrivateDir(opts.dir, opts.uid);
  const file = join(opts.dir, cacheFileName(opts.target));
  return {
    file,
    async read() {
      let text: string;
      try {
        text = await readTrusted(file, opts.uid);
      } catch (err) {
        if (err instanceof UntrustedFile) {
          opts.warn(`kubegate: not using the sign-in cache ${file}: it ${err.message}; it is removed`);
          await rm(file, { force: true });
          return null;
        }
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      return parseCachedSignIn(text, opts.target);
    },
    async write(signIn) {
      // The rename replaces whatever was there (another user's file, a symlink) with a 0600 file.
      await writeFileAtomic(file, `${JSON.stringify(signIn, null, 2)}\n`, 0o600);
    },
    lock: (maxWaitMs, waiting) => takeLock(`${file}.lock`, maxWaitMs, waiting),
  };
}

class UntrustedFile extends Error {}

/** The file's text, read through a descriptor whose owner and mode were checked (no symlinks). */
async function readTrusted(file: string, uid: number): Promise<string> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new UntrustedFile('is a symbolic link');
    throw err;
  }
  try {
    const facts = await handle.stat();
    const problem = cacheFileProblem(
      { isFile: facts.isFile(), uid: facts.uid, mode: facts.mode & 0o777 },
      uid,
    );
    if (problem !== null) throw new UntrustedFile(problem);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Creates the folder 0700, or makes an existing one of the user's 0700; another user's is refused. */
async function ensurePrivateDir(dir: string, uid: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const facts = await lstat(dir);
  if (!facts.isDirectory() || facts.uid !== uid) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `the sign-in cache folder ${dir} is not a folder of yours: remove it, and run kubectl again`,
    );
  }
  if ((facts.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

const LOCK_POLL_MS = 100;
/** A lock file without a readable PID (its writer died between create and write) is stale after this. */
const UNREADABLE_LOCK_STALE_MS = 5_000;

/** A wait shorter than this (another kubectl's refresh) is not worth a line on stderr. */
const SAY_WAITING_AFTER_MS = 1_000;

async function takeLock(
  path: string,
  maxWaitMs: number,
  waiting: ((pid: number) => void) | undefined,
): Promise<() => Promise<void>> {
  const start = Date.now();
  const deadline = start + maxWaitMs;
  let told = false;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await lockHolder(path);
    if (holder === 'stale') {
      await rm(path, { force: true });
      continue;
    }
    if (!told && typeof holder === 'number' && Date.now() - start >= SAY_WAITING_AFTER_MS) {
      told = true;
      waiting?.(holder);
    }
    if (Date.now() >= deadline) {
      throw new KubegateError(
        'KG_LOGIN_TIMEOUT',
        `another kubegate login (PID ${holder ?? 'unknown'}) has been signing in for too long: finish or stop it, or remove ${path}`,
      );
    }
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}

/** The PID holding the lock, 'stale' when it is gone, null when not known yet. */
async function lockHolder(path: string): Promise<number | 'stale' | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  const pid = text === null ? NaN : Number(text);
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      return pid;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'stale' : pid;
    }
  }
  const facts = await stat(path).catch(() => null);
  if (facts === null) return null; // released meanwhile: the next try takes it
  return Date.now() - facts.mtimeMs > UNREADABLE_LOCK_STALE_MS ? 'stale' : null;
}
