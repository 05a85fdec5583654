// Standing approvals as the page shows and offers them (approvals/standing.ts decides on the
// server): what the rules let a reviewer give with an approval, the durations offered, and what a
// standing approval covers, in words. Pure; the server checks every value again.
import type { ApprovalRequirement, PendingRequest } from './api-types.js';

export type StandingScope = 'identical' | 'rule';

export interface StandingOffer {
  /** Widest first: 'rule' only when every rule that asked allows it. */
  readonly scopes: readonly StandingScope[];
  /** The longest every rule allows. */
  readonly maxMs: number;
}

/** What a reviewer may give with an approval of this request; null when the rules allow none. */
export function standingOffer(requirements: readonly ApprovalRequirement[]): StandingOffer | null {
  if (requirements.length === 0) return null;
  let maxMs = Number.POSITIVE_INFINITY;
  let rule = true;
  for (const r of requirements) {
    if (r.standing === undefined) return null;
    maxMs = Math.min(maxMs, r.standing.maxMs);
    if (r.standing.scope !== 'rule') rule = false;
  }
  return { scopes: rule ? ['identical', 'rule'] : ['identical'], maxMs };
}

const PRESETS_MS = [15, 30, 60, 120, 240, 480, 1440].map((m) => m * 60_000);

/** The durations offered: the usual ones up to the rules' limit, and the limit itself. */
export function durationChoices(maxMs: number): readonly number[] {
  const fit = PRESETS_MS.filter((ms) => ms < maxMs);
  return [...fit, maxMs];
}

/** "30m", "2h", "1h30m": as the policy and the CLI write durations. */
export function durationText(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (minutes === 0) return `${Math.round(ms / 1000)}s`;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}`;
}

export function scopeText(scope: StandingScope, p: Pick<PendingRequest, 'requester' | 'request'>): string {
  if (scope === 'identical') return 'this request and identical ones (same body, same target)';
  const where = p.request.namespace === '' ? 'cluster-wide' : `in namespace ${p.request.namespace}`;
  const what =
    p.request.subresource === '' ? p.request.resource : `${p.request.resource}/${p.request.subresource}`;
  return `${p.requester.user}'s ${p.request.verb} requests on ${what} ${where} that need the same approvals`;
}

export type StandingStatus = 'active' | 'ended' | 'revoked';

export function standingStatus(p: Pick<PendingRequest, 'standing'>, now: number): StandingStatus | null {
  const s = p.standing;
  if (s === undefined) return null;
  if (s.revokedAt !== null) return 'revoked';
  return Date.parse(s.until) <= now ? 'ended' : 'active';
}
