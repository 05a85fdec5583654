// Standing approvals: a reviewer approves one request and, where every rule that asked allows it
// (approval.standing), more like it for a while. Pure: what may be asked, what a standing approval
// covers, and its use and revocation as new PendingRequest values; the service stores and audits.
//
// A standing approval lives on the approved request it came from (PendingRequest.standing): its
// grant stays usable until `until` instead of once, so the store's grant look-ups find it, and
// revoking it spends the grant. Scopes:
//   identical — the same request again: same requester, same fingerprint (method, path, query,
//               body), so never a different body or a different target;
//   rule      — the requester's requests that need exactly the same approvals (the same rules),
//               with the same verb and resource (subresource included) in the same namespace:
//               e.g. exec into any pod of the namespace the rule guards. Each request is still
//               decided by the policy first: one that also needs another rule's approval is not
//               covered.
// Must never: cover another requester, another cluster-scope/namespace, a request whose policy
// decision differs, or outlive `until` or a revocation.
import type { KubeRequest } from '../request/types.js';
import type { ApprovalRequirement } from '../policy/decision.js';
import { formatDuration } from '../policy/duration.js';
import type { PendingRequest } from './types.js';

export type StandingScope = 'identical' | 'rule';

/** What a reviewer asks for along with an approval. */
export interface StandingAsk {
  readonly scope: StandingScope;
  readonly durationMs: number;
}

export interface Standing {
  readonly scope: StandingScope;
  /** ISO time: the standing approval covers requests until then. */
  readonly until: string;
  /** The reviewer whose approval created it. */
  readonly grantedBy: string;
  /** Requests it let through so far. */
  readonly uses: number;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

/** Why the rules do not allow this standing approval, or null when they do. */
export function standingRefusal(
  requirements: readonly ApprovalRequirement[],
  ask: StandingAsk,
): string | null {
  if (!Number.isSafeInteger(ask.durationMs) || ask.durationMs <= 0)
    return 'a standing approval needs a duration, e.g. 30m';
  for (const r of requirements) {
    const name = r.rule === null ? "the policy's defaults" : `rule ${r.rule}`;
    if (r.standing === undefined) return `${name} does not allow standing approvals`;
    if (ask.scope === 'rule' && r.standing.scope !== 'rule')
      return `${name} allows standing approvals of identical requests only`;
    if (ask.durationMs > r.standing.maxMs)
      return `${name} allows standing approvals of at most ${formatDuration(r.standing.maxMs)}`;
  }
  return null;
}

/** The approved request with its standing approval (grant usable until `until`, many times). */
export function withStanding(
  pending: PendingRequest,
  ask: StandingAsk,
  by: string,
  now: Date,
): PendingRequest {
  const until = new Date(now.getTime() + ask.durationMs).toISOString();
  return {
    ...pending,
    grantExpiresAt: until,
    standing: { scope: ask.scope, until, grantedBy: by, uses: 0, revokedAt: null, revokedBy: null },
  };
}

export function standingActive(pending: PendingRequest, now: Date): boolean {
  const s = pending.standing;
  return (
    s !== undefined &&
    pending.state === 'approved' &&
    s.revokedAt === null &&
    now.getTime() < Date.parse(s.until)
  );
}

/** The request as the policy just decided it, for `covers`. */
export interface Candidate {
  readonly user: string;
  readonly fingerprint: string;
  readonly request: Pick<KubeRequest, 'verb' | 'apiGroup' | 'resource' | 'subresource' | 'namespace'>;
  readonly requirements: readonly ApprovalRequirement[];
}

/** Whether `pending`'s standing approval lets `c` through now. */
export function covers(pending: PendingRequest, c: Candidate, now: Date): boolean {
  if (!standingActive(pending, now) || pending.requester.user !== c.user) return false;
  if (JSON.stringify(pending.requirements) !== JSON.stringify(c.requirements)) return false;
  if (pending.standing?.scope === 'identical') return pending.fingerprint === c.fingerprint;
  const was = pending.request;
  return (
    was.verb === c.request.verb &&
    was.apiGroup === c.request.apiGroup &&
    was.resource === c.request.resource &&
    was.subresource === c.request.subresource &&
    was.namespace === c.request.namespace
  );
}

/** One more request let through. */
export function useStanding(pending: PendingRequest): PendingRequest {
  const s = pending.standing as Standing;
  return { ...pending, standing: { ...s, uses: s.uses + 1 } };
}

/** Ended at once: its grant is spent, so no look-up finds it again. Null when not active. */
export function revokeStanding(pending: PendingRequest, by: string, now: Date): PendingRequest | null {
  if (!standingActive(pending, now)) return null;
  const s = pending.standing as Standing;
  return { ...pending, grantUsed: true, standing: { ...s, revokedAt: now.toISOString(), revokedBy: by } };
}
