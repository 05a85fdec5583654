// Where a pending request's approvals stand, stage by stage, for the queue and the request page.
// Pure: replays the reviews the way the server's state machine does (src/approvals/
// state-machine.ts, replay) — one approval counts for the current stage of every requirement
// that lists the reviewer; escalateTo approvers count once the review came after escalateAt; a
// break-glass approval completes everything — and keeps, unlike the server, who approved each
// finished stage. progress.test.ts checks it against the server's progressOf.
import type { ApprovalRequirement, ApprovalStage, Approver, PendingRequest } from './api-types.js';

/** stopped: the stage was under review when the request ended unapproved (denied, expired, withdrawn). */
export type StageStatus = 'done' | 'current' | 'waiting' | 'stopped';

export interface StageProgress {
  readonly name: string;
  readonly approvers: readonly Approver[];
  /** Approvals the stage needs (at least one). */
  readonly count: number;
  readonly status: StageStatus;
  /** Who approved in this stage, in order. */
  readonly approvedBy: readonly string[];
}

export interface RequirementProgress {
  readonly rule: string | null;
  readonly done: boolean;
  /** Index of the stage under review; stages.length when done. */
  readonly stageIndex: number;
  readonly stages: readonly StageProgress[];
  readonly escalateTo: readonly Approver[];
  /** Finished by a requester's break-glass approval. */
  readonly breakGlass: boolean;
}

type Progressable = Pick<PendingRequest, 'requirements' | 'reviews' | 'escalateAt'>;

const stageCount = (stage: ApprovalStage): number => Math.max(1, Math.floor(stage.count));

function qualifies(user: string, groups: readonly string[], approvers: readonly Approver[]): boolean {
  return approvers.some((a) => (a.kind === 'user' ? a.name === user : groups.includes(a.name)));
}

export function progressOf(pending: Progressable): readonly RequirementProgress[] {
  const escalateAt = pending.escalateAt === null ? null : Date.parse(pending.escalateAt);
  const state = pending.requirements.map((r: ApprovalRequirement) => ({
    index: 0,
    approvedBy: r.stages.map((): string[] => []),
    breakGlass: false,
  }));
  for (const review of pending.reviews) {
    if (review.decision !== 'approve') continue;
    pending.requirements.forEach((requirement, i) => {
      const s = state[i]!;
      const stage = requirement.stages[s.index];
      if (stage === undefined) return;
      if (review.breakGlass) {
        s.index = requirement.stages.length;
        s.breakGlass = true;
        return;
      }
      const escalated = escalateAt !== null && Date.parse(review.at) >= escalateAt;
      const approvers = escalated ? [...stage.approvers, ...requirement.escalateTo] : stage.approvers;
      if (!qualifies(review.reviewer, review.reviewerGroups, approvers)) return;
      const counted = s.approvedBy[s.index]!;
      counted.push(review.reviewer);
      if (counted.length >= stageCount(stage)) s.index++;
    });
  }
  return pending.requirements.map((requirement, i) => {
    const s = state[i]!;
    return {
      rule: requirement.rule,
      done: s.index >= requirement.stages.length,
      stageIndex: s.index,
      stages: requirement.stages.map((stage, j) => ({
        name: stage.name,
        approvers: stage.approvers,
        count: stageCount(stage),
        status: j < s.index ? 'done' : j === s.index ? 'current' : 'waiting',
        approvedBy: s.approvedBy[j]!,
      })),
      escalateTo: requirement.escalateTo,
      breakGlass: s.breakGlass,
    };
  });
}

/**
 * progressOf for showing a request that may have ended: once it is denied, expired or withdrawn,
 * nobody reviews the stage it stopped at any more, so that stage is 'stopped', not 'current'.
 */
export function shownProgress(
  pending: Progressable & Pick<PendingRequest, 'state'>,
): readonly RequirementProgress[] {
  const progress = progressOf(pending);
  if (pending.state === 'pending' || pending.state === 'approved') return progress;
  return progress.map((p) => ({
    ...p,
    stages: p.stages.map((s) => (s.status === 'current' ? { ...s, status: 'stopped' } : s)),
  }));
}

/**
 * One line per requirement for the queue: "2 of 2 ✓" when done, else the current stage's
 * approvals so far against what it needs, with the stage named when there are several.
 */
export function progressSummary(progress: readonly RequirementProgress[]): readonly string[] {
  return progress.map((p) => {
    const total = p.stages.length;
    if (p.done) return p.breakGlass ? 'break-glass' : 'approved';
    const stage = p.stages[p.stageIndex]!;
    const stageText = total > 1 ? ` (stage ${p.stageIndex + 1}/${total}: ${stage.name})` : '';
    return `${stage.approvedBy.length}/${stage.count}${stageText}`;
  });
}

/**
 * Whether `person` may review the request now — the server's eligibility (state-machine.ts)
 * replayed for the queue, whose watch events carry no eligibility: pending and not expired, not
 * their own, not reviewed by them yet, and named by the current stage of some requirement (with
 * its escalateTo once escalated). Only a hint: the request page asks the server.
 */
export function reviewableBy(
  pending: Pick<
    PendingRequest,
    'state' | 'expiresAt' | 'requester' | 'reviews' | 'requirements' | 'escalateAt' | 'escalated'
  >,
  person: { readonly user: string; readonly groups: readonly string[] },
  now: number,
): boolean {
  if (pending.state !== 'pending') return false;
  if (pending.expiresAt !== null && now >= Date.parse(pending.expiresAt)) return false;
  if (pending.requester.user === person.user) return false;
  if (pending.reviews.some((r) => r.reviewer === person.user)) return false;
  const escalated =
    pending.escalated || (pending.escalateAt !== null && now >= Date.parse(pending.escalateAt));
  return progressOf(pending).some((p) => {
    const stage = p.stages[p.stageIndex];
    if (stage === undefined) return false;
    const approvers = escalated ? [...stage.approvers, ...p.escalateTo] : stage.approvers;
    return qualifies(person.user, person.groups, approvers);
  });
}
