// PolicyStore: the one long-lived holder of the active policy. Loads the policy file at start,
// reloads it when the file changes (fs.watch on its directory, debounced) and when reload() is
// called (the gateway calls it on SIGHUP). Input: a file path. Output: current(), the compiled
// policy the decide stage evaluates, plus lastError() and stats() for `policy check`, logs and
// metrics, and 'loaded' / 'failed' events. Must never replace a working policy with a broken
// one, and never serve "no policy": until a file loads, current() is a policy that denies
// everything with a message saying the policy failed to load (security invariant 5).
//
// The directory is watched, not the file: editors (vim, VS Code's atomic save) and Kubernetes
// ConfigMap mounts replace a file by renaming a new one over it, after which a watch on the old
// file sees nothing. Any event in the directory schedules a reload; a reload whose bytes equal
// the last ones read is a no-op, so unrelated files in the directory cost one read.

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { failClosedPolicy } from './compile.js';
import type { CompiledPolicy } from './compile.js';
import { formatIssue, loadPolicy } from './load.js';
import type { PolicyIssue } from './load.js';

export interface PolicyLoadError {
  readonly file: string;
  /** Every problem, each with file:line:column; a read failure is one issue at 1:1. */
  readonly issues: readonly PolicyIssue[];
  /** The issues formatted one per line: `policy.yaml:12:7: rules[2].match.verbs[0]: …`. */
  readonly message: string;
  readonly at: Date;
}

export interface PolicyStoreStats {
  readonly file: string;
  /** Successful loads, the first one included. */
  readonly loads: number;
  /** Failed loads (unreadable or invalid file); the metric `policy reload failures`. */
  readonly failures: number;
  readonly lastLoadedAt: Date | null;
  readonly lastFailedAt: Date | null;
  readonly rules: number;
  /** True until a policy has loaded: current() then denies everything. */
  readonly failClosed: boolean;
}

export type ReloadOutcome =
  | { readonly kind: 'loaded'; readonly policy: CompiledPolicy }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'failed'; readonly error: PolicyLoadError };

export interface PolicyStoreEvents {
  loaded: [policy: CompiledPolicy];
  failed: [error: PolicyLoadError];
}

export interface PolicyStoreOptions {
  readonly file: string;
  /** Quiet time after the last file event before reloading; editors write in several steps. */
  readonly debounceMs?: number;
  readonly now?: () => Date;
  readonly readFile?: (file: string) => Promise<string>;
}

export class PolicyStore extends EventEmitter<PolicyStoreEvents> {
  readonly #file: string;
  readonly #debounceMs: number;
  readonly #now: () => Date;
  readonly #read: (file: string) => Promise<string>;
  #policy: CompiledPolicy;
  #everLoaded = false;
  #lastError: PolicyLoadError | null = null;
  #lastDigest: string | null = null;
  #source: { readonly text: string; readonly digest: string } | null = null;
  #loads = 0;
  #failures = 0;
  #lastLoadedAt: Date | null = null;
  #lastFailedAt: Date | null = null;
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Reloads run one at a time, in order: a change during a load is read after it. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: PolicyStoreOptions) {
    super();
    this.#file = options.file;
    this.#debounceMs = options.debounceMs ?? 100;
    this.#now = options.now ?? (() => new Date());
    this.#read = options.readFile ?? ((f) => readFile(f, 'utf8'));
    this.#policy = failClosedPolicy(options.file);
  }

  /**
   * Loads the file and starts watching its directory (call close() to stop). A failed first load
   * still starts the watch, so fixing the file brings the policy up.
   */
  async start(): Promise<ReloadOutcome> {
    const outcome = await this.reload();
    if (this.#watcher === null) {
      // Persistent: a store that is watching is a live resource; close() releases it.
      this.#watcher = watch(dirname(this.#file), () => this.#schedule());
      // A vanished directory ends the watch; the last good policy stays and reload() still works.
      this.#watcher.on('error', () => this.#stopWatching());
    }
    return outcome;
  }

  /** Reads and applies the file now (SIGHUP), even if its bytes did not change. */
  reload(): Promise<ReloadOutcome> {
    return this.#enqueue(true);
  }

  current(): CompiledPolicy {
    return this.#policy;
  }

  /** The text and SHA-256 of the policy in force (for the UI's policy view); null before one loads. */
  source(): { readonly text: string; readonly digest: string } | null {
    return this.#source;
  }

  lastError(): PolicyLoadError | null {
    return this.#lastError;
  }

  stats(): PolicyStoreStats {
    return {
      file: this.#file,
      loads: this.#loads,
      failures: this.#failures,
      lastLoadedAt: this.#lastLoadedAt,
      lastFailedAt: this.#lastFailedAt,
      rules: this.#policy.rules.length,
      failClosed: !this.#everLoaded,
    };
  }

  close(): void {
    this.#stopWatching();
  }

  #stopWatching(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#watcher?.close();
    this.#watcher = null;
  }

  #schedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      // Failures are recorded and emitted by #load itself; nothing is left to report here.
      void this.#enqueue(false);
    }, this.#debounceMs);
  }

  #enqueue(force: boolean): Promise<ReloadOutcome> {
    const next = this.#queue.then(() => this.#load(force));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #load(force: boolean): Promise<ReloadOutcome> {
    let text: string;
    try {
      text = await this.#read(this.#file);
    } catch (err) {
      const code = err instanceof Error && 'code' in err ? String(err.code) : 'read error';
      this.#lastDigest = null;
      return this.#fail([
        { file: this.#file, line: 1, column: 1, path: '', message: `cannot read the file (${code})` },
      ]);
    }
    const digest = createHash('sha256').update(text).digest('hex');
    if (!force && digest === this.#lastDigest) return { kind: 'unchanged' };
    this.#lastDigest = digest;
    const loaded = loadPolicy(text, this.#file);
    if (!loaded.ok) return this.#fail(loaded.issues);
    this.#policy = loaded.policy;
    this.#source = { text, digest };
    this.#everLoaded = true;
    this.#lastError = null;
    this.#loads++;
    this.#lastLoadedAt = this.#now();
    this.emit('loaded', loaded.policy);
    return { kind: 'loaded', policy: loaded.policy };
  }

  #fail(issues: readonly PolicyIssue[]): ReloadOutcome {
    const error: PolicyLoadError = {
      file: this.#file,
      issues,
      message: issues.map(formatIssue).join('\n'),
      at: this.#now(),
    };
    this.#lastError = error;
    this.#failures++;
    this.#lastFailedAt = error.at;
    this.emit('failed', error);
    return { kind: 'failed', error };
  }
}
