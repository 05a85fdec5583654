// What a reviewer reads about one request before deciding: the request itself, the rules that
// held it, what it would change (the context kubegate gathered: target labels, dry-run diff,
// objects a bulk delete would remove, the exec command) and the reviews so far.
import type { ComponentChildren } from 'preact';
import type { RequestView, ReviewerContext } from '../api-types.js';
import { ActionBadge } from '../components/badges.js';
import { DiffView } from '../components/diff-view.js';
import { LabelChips } from '../components/labels.js';
import { formatRelative, formatTime, objectRef, resourceRef, shellQuote } from '../format.js';
import { modeText } from '../request-state.js';
import { subjectLabel } from '../../../src/identity/agents.js';
import { ReasonField } from './reason-field.js';

function Field({ label, children }: { readonly label: string; readonly children: ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

function When({ iso, now }: { readonly iso: string; readonly now: number }) {
  return (
    <time dateTime={iso}>
      {formatTime(iso)} <span class="muted">({formatRelative(iso, now)})</span>
    </time>
  );
}

export function RequestFacts({ view, now }: { readonly view: RequestView; readonly now: number }) {
  const r = view.request;
  const target = `${r.path}${r.rawQuery === '' ? '' : `?${r.rawQuery}`}`;
  return (
    <section class="card" aria-labelledby="facts-heading">
      <h2 id="facts-heading">Request</h2>
      <dl class="facts">
        <Field label="Requested by">
          <strong data-testid="requester">{subjectLabel(view.requester)}</strong>
          {view.requester.groups.length > 0 && (
            <span class="muted"> · groups {view.requester.groups.join(', ')}</span>
          )}
        </Field>
        <Field label="Reason">
          <ReasonField view={view} />
        </Field>
        <Field label="Requested">
          <When iso={view.createdAt} now={now} />
        </Field>
        <Field label="HTTP">
          <code class="mono break">
            {r.method} {target}
          </code>
        </Field>
        <Field label="Verb">
          <code>{r.verb}</code>
        </Field>
        <Field label="Resource">
          <code>
            {resourceRef(r.resource, r.subresource) || '—'}
            {r.apiGroup !== '' && (
              <span class="muted">
                {' '}
                ({r.apiGroup}/{r.apiVersion})
              </span>
            )}
          </code>
        </Field>
        {objectRef(r.namespace, r.name) !== '' && (
          <Field label="Object">
            <code>{objectRef(r.namespace, r.name)}</code>
          </Field>
        )}
        {r.labelSelector !== '' && (
          <Field label="Label selector">
            <code>{r.labelSelector}</code>
          </Field>
        )}
        {r.fieldSelector !== '' && (
          <Field label="Field selector">
            <code>{r.fieldSelector}</code>
          </Field>
        )}
        {r.kubectlCommand !== '' && (
          <Field label="Client said">
            <code data-testid="kubectl-command">{r.kubectlCommand}</code>
          </Field>
        )}
        <Field label="Mode">
          <span data-testid="mode">{modeText(view)}</span>
        </Field>
        {view.state === 'pending' && view.escalateAt !== null && (
          <Field label={view.escalated ? 'Escalated' : 'Escalates'}>
            <When iso={view.escalateAt} now={now} />
          </Field>
        )}
        {view.state === 'pending' && view.expiresAt !== null && (
          <Field label="Expires">
            <When iso={view.expiresAt} now={now} />
          </Field>
        )}
        {view.decidedAt !== null && (
          <Field label="Decided">
            <When iso={view.decidedAt} now={now} />
          </Field>
        )}
        {view.grantExpiresAt !== null && (
          <Field label="Grant">
            {view.grantUsed ? 'used' : <>valid until {formatTime(view.grantExpiresAt)}</>}
          </Field>
        )}
      </dl>
    </section>
  );
}

export function MatchedRules({ view }: { readonly view: RequestView }) {
  return (
    <section class="card" aria-labelledby="rules-heading">
      <h2 id="rules-heading">Rules that matched</h2>
      {view.rules.length === 0 ? (
        <p class="muted">No rule matched: the policy's defaults asked for approval.</p>
      ) : (
        <ul class="rules" data-testid="rules">
          {view.rules.map((rule) => (
            <li key={rule.name} class="rule">
              <div class="rule-head">
                <span class="mono rule-title">{rule.name}</span>
                <ActionBadge action={rule.action} />
              </div>
              {rule.message !== undefined && rule.message !== '' && (
                <p class="rule-message">{rule.message}</p>
              )}
              {rule.failedClosed !== undefined && (
                <p class="rule-failed">
                  Taken as matching because part of it could not be checked: {rule.failedClosed}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function ContextView({ view }: { readonly view: RequestView }) {
  const context: ReviewerContext | null = view.context;
  return (
    <section class="card" aria-labelledby="context-heading" data-testid="context">
      <h2 id="context-heading">What it would do</h2>
      {context === null ? (
        <p class="muted" data-testid="context-pending">
          {view.state === 'pending'
            ? 'kubegate is still gathering the context (target labels, a dry run as the requester). It appears here as soon as it is ready.'
            : 'No context was gathered for this request.'}
        </p>
      ) : (
        <ContextDetails context={context} />
      )}
    </section>
  );
}

function ContextDetails({ context }: { readonly context: ReviewerContext }) {
  const nothing =
    context.targetLabels === null &&
    context.dryRun === null &&
    context.diff === null &&
    context.objects === null &&
    context.exec === null &&
    context.notes.length === 0;
  return (
    <div class="context">
      {nothing && <p class="muted">Nothing more to show for this kind of request.</p>}
      {context.exec !== null && (
        <div class="context-part">
          <h3>Command to run in the container</h3>
          <pre class="command-block" data-testid="exec">
            {shellQuote(context.exec.command)}
          </pre>
          <p class="muted">
            container <code>{context.exec.container === '' ? '(default)' : context.exec.container}</code>
          </p>
        </div>
      )}
      {context.targetLabels !== null && (
        <div class="context-part">
          <h3>Labels of the target</h3>
          <div data-testid="target-labels">
            <LabelChips labels={context.targetLabels} />
          </div>
        </div>
      )}
      {context.objects !== null && (
        <div class="context-part">
          <h3>
            Objects it would delete <span class="count">{context.objects.length}</span>
          </h3>
          {context.objects.length === 0 ? (
            <p class="muted" data-testid="objects">
              None: nothing matches the request's selectors now.
            </p>
          ) : (
            <ul class="objects mono" data-testid="objects">
              {context.objects.map((o) => (
                <li key={o}>{o}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {context.dryRun !== null && (
        <div class="context-part">
          <h3>Dry run as the requester</h3>
          <p>
            The API server answered{' '}
            <strong class={context.dryRun.status < 300 ? 'ok' : 'bad'}>HTTP {context.dryRun.status}</strong>
            {context.dryRun.message !== null && context.dryRun.message !== '' && (
              <>: {context.dryRun.message}</>
            )}
          </p>
        </div>
      )}
      {context.diff !== null && (
        <div class="context-part">
          <h3>Diff</h3>
          {context.diff === '' ? (
            <p class="muted" data-testid="diff-empty">
              The dry run changes nothing in the object.
            </p>
          ) : (
            <DiffView diff={context.diff} />
          )}
        </div>
      )}
      {context.notes.length > 0 && (
        <div class="context-part">
          <h3>Notes</h3>
          <ul class="notes" data-testid="notes">
            {context.notes.map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

export function ReviewsView({ view, now }: { readonly view: RequestView; readonly now: number }) {
  return (
    <section class="card" aria-labelledby="reviews-heading">
      <h2 id="reviews-heading">
        Reviews <span class="count">{view.reviews.length}</span>
      </h2>
      {view.reviews.length === 0 ? (
        <p class="muted">No one has reviewed this request yet.</p>
      ) : (
        <ol class="reviews" data-testid="reviews">
          {view.reviews.map((r, i) => (
            <li key={i} class={`review review-${r.decision}`} data-reviewer={r.reviewer}>
              <div class="review-head">
                <span class={`badge review-badge-${r.decision}`}>
                  {r.decision === 'approve' ? 'approved' : 'denied'}
                </span>
                <strong>{r.reviewer}</strong>
                {r.reviewerGroups.length > 0 && <span class="muted">{r.reviewerGroups.join(', ')}</span>}
                {r.breakGlass && <span class="tag tag-danger">break-glass</span>}
                <time class="muted review-time" dateTime={r.at} title={formatTime(r.at)}>
                  {formatRelative(r.at, now)}
                </time>
              </div>
              {r.comment !== '' && <p class="review-comment">{r.comment}</p>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
