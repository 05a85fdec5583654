// Where approvals stand: compact dots for the queue, and stage by stage for the request page.
import type { PendingRequest } from '../api-types.js';
import { approverLabel, formatSpan } from '../format.js';
import { shownProgress, type RequirementProgress } from '../progress.js';

function Dots({ have, need }: { readonly have: number; readonly need: number }) {
  return (
    <span class="dots" aria-hidden="true">
      {Array.from({ length: need }, (_, i) => (
        <span key={i} class={i < have ? 'dot dot-on' : 'dot'} />
      ))}
    </span>
  );
}

function summaryText(p: RequirementProgress): string {
  if (p.done) return p.breakGlass ? 'break-glass' : 'approved';
  const stage = p.stages[p.stageIndex]!;
  const who = stage.approvers.map(approverLabel).join(', ');
  const stageText = p.stages.length > 1 ? `stage ${p.stageIndex + 1}/${p.stages.length} · ` : '';
  return `${stageText}${stage.approvedBy.length} of ${stage.count} · ${who}`;
}

/** One line per requirement: dots for the current stage and "1 of 2 · group sre". */
export function ProgressSummary({ pending }: { readonly pending: PendingRequest }) {
  const progress = shownProgress(pending);
  if (progress.length === 0) return <span class="muted">no requirement</span>;
  return (
    <ul class="progress-summary">
      {progress.map((p, i) => {
        const stage = p.stages[p.stageIndex];
        return (
          <li key={i} title={p.rule === null ? 'policy defaults' : `rule ${p.rule}`}>
            {stage === undefined ? (
              <span class="check" aria-hidden="true">
                ✓
              </span>
            ) : (
              <Dots have={stage.approvedBy.length} need={stage.count} />
            )}
            <span class="progress-text">{summaryText(p)}</span>
          </li>
        );
      })}
    </ul>
  );
}

const STATUS_MARK = { done: '✓', current: '●', waiting: '○', stopped: '–' } as const;

/** Every requirement with its stages, approvers, counts and who approved. */
export function RequirementsView({ pending }: { readonly pending: PendingRequest }) {
  const progress = shownProgress(pending);
  return (
    <div class="requirements">
      {progress.map((p, i) => {
        const req = pending.requirements[i]!;
        return (
          <section key={i} class="requirement" aria-label={`requirement ${p.rule ?? 'defaults'}`}>
            <header class="requirement-head">
              <span class="mono">{p.rule ?? 'policy defaults'}</span>
              <span class="requirement-facts muted">
                {req.mode}
                {req.escalateAfterMs !== null && (
                  <>
                    {' · escalates after '}
                    {formatSpan(req.escalateAfterMs)}
                    {req.escalateTo.length > 0 && ` to ${req.escalateTo.map(approverLabel).join(', ')}`}
                  </>
                )}
                {req.expiresAfterMs !== null && ` · expires after ${formatSpan(req.expiresAfterMs)}`}
                {req.breakGlass && ' · break-glass allowed'}
              </span>
            </header>
            <ol class="stages">
              {p.stages.map((s, j) => (
                <li key={j} class={`stage stage-${s.status}`}>
                  <span class="stage-mark" aria-hidden="true">
                    {STATUS_MARK[s.status]}
                  </span>
                  <span class="stage-name">{s.name}</span>
                  <span class="stage-need">
                    {s.count} of {s.approvers.map(approverLabel).join(', ')}
                  </span>
                  <span class="stage-count">
                    {s.status === 'done' && s.approvedBy.length === 0
                      ? 'done'
                      : `${s.approvedBy.length}/${s.count}`}
                  </span>
                  {s.approvedBy.length > 0 && (
                    <span class="stage-by">approved by {s.approvedBy.join(', ')}</span>
                  )}
                  <span class="visually-hidden">({s.status})</span>
                </li>
              ))}
            </ol>
            {p.breakGlass && <p class="break-glass-flag">Approved through break-glass by the requester.</p>}
          </section>
        );
      })}
    </div>
  );
}
