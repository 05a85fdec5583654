// The audit chain's verification status for the web UI: the store's check of the whole chain
// (AuditReader.verify, which the gateway's store runs off the request path's thread), remembered.
// Input: the check. Output: the latest report with its time. A check younger than maxAgeMs is
// reused, and concurrent callers share one run: a page refreshed by many reviewers costs one
// verification.
import { KubegateError } from '../errors.js';
import type { AuditVerifyReport } from './store.js';

export type VerificationStatus = AuditVerifyReport & { readonly verifiedAt: string };

export interface ChainVerifier {
  status(): Promise<VerificationStatus>;
}

export interface ChainVerifierOptions {
  /** Checks the stored chain (AuditReader.verify). */
  readonly verify: () => Promise<AuditVerifyReport>;
  /** How long a result is reused. Default 10 s. */
  readonly maxAgeMs?: number;
  readonly now?: () => Date;
}

const unavailable = (cause: unknown): KubegateError =>
  new KubegateError(
    'KG_AUDIT_UNAVAILABLE',
    `kubegate could not check its audit chain just now (${cause instanceof Error ? cause.message : String(cause)}). Retry shortly; operators can run kubegate audit verify.`,
    { cause },
  );

export function createChainVerifier(options: ChainVerifierOptions): ChainVerifier {
  const maxAgeMs = options.maxAgeMs ?? 10_000;
  const now = options.now ?? (() => new Date());
  let last: { status: VerificationStatus; at: number } | null = null;
  let running: Promise<VerificationStatus> | null = null;

  const run = async (): Promise<VerificationStatus> => {
    let report: AuditVerifyReport;
    try {
      report = await options.verify();
    } catch (err) {
      throw unavailable(err);
    }
    const at = now();
    const status = { ...report, verifiedAt: at.toISOString() };
    last = { status, at: at.getTime() };
    return status;
  };

  return {
    status() {
      if (last !== null && now().getTime() - last.at < maxAgeMs) return Promise.resolve(last.status);
      running ??= run().finally(() => (running = null));
      return running;
    },
  };
}
