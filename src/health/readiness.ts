// Whether this kubegate can do its job right now, for the probes of an orchestrator and for
// operators: /kubegate/livez (the process answers) and /kubegate/readyz (each check below passed
// when last run). Input: checks, each a function that resolves to null when fine or to a short
// reason; run every intervalMs in the background, never on a probe's request, so a slow
// dependency cannot make a probe slow. Output: ready or not, and each check's last result.
// Must never report ready before every check has passed once, nor keep reporting ready when a
// check has failed since (a dependency that went away flips readiness at the next run).
export interface HealthCheck {
  readonly name: string;
  /** null: fine; otherwise why not, for operators (never a secret). */
  run(): Promise<string | null>;
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** Why not; null when ok. */
  readonly reason: string | null;
  /** When it last ran (ISO 8601); null before its first run ended. */
  readonly checkedAt: string | null;
}

export interface ReadinessOptions {
  readonly intervalMs: number;
  /** A check still running after this is a failure ("timed out"). */
  readonly timeoutMs: number;
  readonly now?: () => Date;
}

export class Readiness {
  readonly #checks: readonly HealthCheck[];
  readonly #options: ReadinessOptions;
  readonly #results = new Map<string, CheckResult>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(checks: readonly HealthCheck[], options: ReadinessOptions) {
    this.#checks = checks;
    this.#options = options;
    for (const check of checks) {
      this.#results.set(check.name, {
        name: check.name,
        ok: false,
        reason: 'not checked yet',
        checkedAt: null,
      });
    }
  }

  /** Runs the checks now, then every intervalMs. */
  start(): Promise<void> {
    if (this.#timer === null) {
      this.#timer = setInterval(() => void this.runOnce(), this.#options.intervalMs);
      this.#timer.unref();
    }
    return this.runOnce();
  }

  /** One round of every check (a round still running is awaited, not doubled). */
  runOnce(): Promise<void> {
    this.#running ??= Promise.all(this.#checks.map((check) => this.#run(check))).then(
      () => {
        this.#running = null;
      },
      () => {
        this.#running = null;
      },
    );
    return this.#running;
  }

  get ready(): boolean {
    return [...this.#results.values()].every((r) => r.ok);
  }

  results(): readonly CheckResult[] {
    return [...this.#results.values()];
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #run(check: HealthCheck): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<string>((resolve) => {
      timer = setTimeout(
        () => resolve(`timed out after ${this.#options.timeoutMs} ms`),
        this.#options.timeoutMs,
      );
    });
    let reason: string | null;
    try {
      reason = await Promise.race([check.run(), timedOut]);
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
    }
    const checkedAt = (this.#options.now?.() ?? new Date()).toISOString();
    this.#results.set(check.name, { name: check.name, ok: reason === null, reason, checkedAt });
  }
}

/**
 * `check`, passing for `graceMs` after it last passed: a dependency that answered within the last
 * graceMs counts as reachable (one lost probe does not take every replica out of a Service).
 */
export function passedWithin(graceMs: number, check: HealthCheck, now: () => number = Date.now): HealthCheck {
  let lastOk = -Infinity;
  return {
    name: check.name,
    async run() {
      const reason = await check.run();
      if (reason === null) {
        lastOk = now();
        return null;
      }
      const ago = now() - lastOk;
      return ago < graceMs
        ? null
        : `${reason} (last reached ${Number.isFinite(ago) ? `${Math.round(ago / 1000)} s ago` : 'never'})`;
    },
  };
}
