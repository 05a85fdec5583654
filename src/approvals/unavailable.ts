// The hold stage until approvals exist: a request that needs approval is refused with an
// ApprovalRequired Status naming the rules and who would have to approve, so the user knows why
// and whom to ask. It never lets the request through.
import { KubegateError } from '../errors.js';
import type { ApproveDecision, Approver } from '../policy/decision.js';

function approverText(approvers: readonly Approver[]): string {
  return approvers.map((a) => `${a.kind} ${a.name}`).join(' or ');
}

export function approvalMessage(decision: ApproveDecision): string {
  const needs = decision.approval.map((req) => {
    const stages = req.stages.map((s) => `${s.count} of ${approverText(s.approvers)}`).join(', then ');
    return `${req.rule === null ? 'the default policy' : `rule "${req.rule}"`} needs approval by ${stages}${req.message ? ` (${req.message})` : ''}`;
  });
  return needs.join('; ');
}

export function refuseForApproval(input: { readonly decision: ApproveDecision }): Promise<never> {
  return Promise.reject(
    new KubegateError(
      'KG_APPROVAL_REQUIRED',
      `this request needs approval: ${approvalMessage(input.decision)}. Approvals are not enabled on this kubegate, so it was not forwarded; ask an administrator.`,
    ),
  );
}
