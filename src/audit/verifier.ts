// The audit chain's verification status for the web UI: verifyAuditDatabase run in a child
// process (verify-worker.ts), so a long chain never blocks the request path. Input: the trail's
// file. Output: the latest report with its time. A check younger than maxAgeMs is reused, and
// concurrent callers share one run: a page refreshed by many reviewers costs one verification.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KubegateError } from '../errors.js';
import type { AuditVerifyReport } from './verify.js';

export type VerificationStatus = AuditVerifyReport & { readonly verifiedAt: string };

export interface ChainVerifier {
  status(): Promise<VerificationStatus>;
}

export interface ChainVerifierOptions {
  readonly file: string;
  /** How long a result is reused. Default 10 s. */
  readonly maxAgeMs?: number;
  readonly now?: () => Date;
}

// Built, the worker is verify-worker.js beside this file; from source (under tsx) it is .ts, and
// this process's own flags (tsx's loader) are passed on so that it can load it.
const WORKER = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './verify-worker.ts' : './verify-worker.js', import.meta.url),
);

const unavailable = (why: string): KubegateError =>
  new KubegateError(
    'KG_AUDIT_UNAVAILABLE',
    `kubegate could not check its audit chain just now (${why}). Retry shortly; operators can run kubegate audit verify.`,
  );

export function createChainVerifier(options: ChainVerifierOptions): ChainVerifier {
  const maxAgeMs = options.maxAgeMs ?? 10_000;
  const now = options.now ?? (() => new Date());
  let last: { status: VerificationStatus; at: number } | null = null;
  let running: Promise<VerificationStatus> | null = null;

  const run = (): Promise<VerificationStatus> =>
    new Promise<VerificationStatus>((resolve, reject) => {
      execFile(
        process.execPath,
        [...process.execArgv, WORKER, options.file],
        { maxBuffer: 1024 * 1024, timeout: 10 * 60_000 },
        (err, stdout) => {
          let message: { report?: AuditVerifyReport; error?: string };
          try {
            message = JSON.parse(stdout) as typeof message;
          } catch {
            reject(unavailable(err?.message ?? 'it gave no answer'));
            return;
          }
          if (message.report === undefined) {
            reject(unavailable(message.error ?? 'it sent no report'));
            return;
          }
          const at = now();
          const status = { ...message.report, verifiedAt: at.toISOString() };
          last = { status, at: at.getTime() };
          resolve(status);
        },
      );
    });

  return {
    status() {
      if (last !== null && now().getTime() - last.at < maxAgeMs) return Promise.resolve(last.status);
      running ??= run().finally(() => (running = null));
      return running;
    },
  };
}
