// The reviewer's actions on one request: a comment, Approve, Deny (which needs the comment: the
// requester is told why), and — for the requester, when every matching rule allows it — a
// break-glass approval with a written reason. One click each, no confirmation dialog. A reviewer
// who approved may still deny while the request is pending (eligibility.canDeny). The requester
// may withdraw their pending request (eligibility.canWithdraw): that one asks to be confirmed,
// since it ends the request for everyone. When the person may not act, the buttons are disabled
// and the reason is shown; when the server refuses an action, its message is shown in the same
// place.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RequestView } from '../api-types.js';
import { approveHint } from '../request-state.js';
import { durationChoices, durationText, scopeText, standingOffer, type StandingScope } from '../standing.js';

export type ReviewAction =
  | {
      readonly decision: 'approve';
      readonly comment: string;
      /** A standing approval given with it (duration as the API takes it: "30m"). */
      readonly standing?: { readonly duration: string; readonly scope: StandingScope };
    }
  | { readonly decision: 'deny'; readonly comment: string }
  | { readonly decision: 'break-glass'; readonly comment: string; readonly reason: string }
  | { readonly decision: 'withdraw' }
  | { readonly decision: 'revoke' };

interface Props {
  readonly view: RequestView;
  /** Sends the review; resolves true when it was accepted. */
  readonly act: (action: ReviewAction) => Promise<boolean>;
  /** The server's refusal of the last action, if any. */
  readonly refusal: string | null;
  readonly busy: boolean;
  readonly done: string | null;
}

export function ReviewPanel({ view, act, refusal, busy, done }: Props) {
  const [comment, setComment] = useState('');
  const [commentError, setCommentError] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState<string | null>(null);
  const commentRef = useRef<HTMLTextAreaElement>(null);
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const [confirming, setConfirming] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const offer = standingOffer(view.requirements);
  const [standingScope, setStandingScope] = useState<StandingScope | 'none'>('none');
  const [standingMs, setStandingMs] = useState<number>(offer?.maxMs ?? 0);
  const { eligibility } = view;
  const canReview = eligibility.canReview && view.state === 'pending';
  const canDeny = eligibility.canDeny && view.state === 'pending';
  const canWithdraw = eligibility.canWithdraw && view.state === 'pending';
  /** Approved earlier, may still deny: not a refusal to show. */
  const changesMind = canDeny && !canReview;

  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
  }, [confirming]);

  const messages = [
    ...(refusal === null ? [] : [refusal]),
    ...(!eligibility.canReview &&
    !changesMind &&
    eligibility.message !== null &&
    eligibility.message !== refusal
      ? [eligibility.message]
      : []),
  ];

  const submit = async (action: ReviewAction): Promise<void> => {
    if (await act(action)) {
      setComment('');
      setReason('');
    }
  };

  const approve = (): void => {
    setCommentError(null);
    void submit({
      decision: 'approve',
      comment,
      ...(standingScope === 'none' || offer === null
        ? {}
        : { standing: { duration: durationText(Math.min(standingMs, offer.maxMs)), scope: standingScope } }),
    });
  };
  const deny = (): void => {
    if (comment.trim() === '') {
      setCommentError('A denial needs a comment saying why: the requester sees it.');
      commentRef.current?.focus();
      return;
    }
    setCommentError(null);
    void submit({ decision: 'deny', comment });
  };
  const breakGlass = (): void => {
    if (reason.trim() === '') {
      setReasonError('Break-glass needs a written reason: it is recorded, flagged and announced.');
      reasonRef.current?.focus();
      return;
    }
    setReasonError(null);
    void submit({ decision: 'break-glass', comment, reason });
  };
  const withdraw = (): void => {
    setConfirming(false);
    void submit({ decision: 'withdraw' });
  };

  return (
    <section class="card review-panel" aria-labelledby="review-heading">
      <h2 id="review-heading">{canWithdraw ? 'Your request' : 'Your review'}</h2>
      {done !== null && (
        <p class="notice notice-success" role="status" data-testid="review-done">
          {done}
        </p>
      )}
      <div class="refusal-area" role="alert" aria-live="assertive">
        {messages.length > 0 && (
          <div
            class={
              refusal === null && eligibility.refusal === 'not-pending'
                ? 'notice notice-info'
                : 'notice notice-refusal'
            }
            data-testid="refusal"
            data-refusal={refusal === null ? (eligibility.refusal ?? '') : 'server'}
          >
            {messages.map((m, i) => (
              <p key={i}>{m}</p>
            ))}
          </div>
        )}
      </div>
      {changesMind && (
        <p class="notice notice-info" data-testid="deny-still-open">
          You approved this request. While it is pending you may still deny it, with a comment saying why.
        </p>
      )}
      <label for="review-comment">
        Comment <span class="muted">(required to deny)</span>
      </label>
      <textarea
        id="review-comment"
        ref={commentRef}
        rows={3}
        value={comment}
        placeholder={
          canReview
            ? 'Why you approve or deny; the requester and the audit trail see it.'
            : changesMind
              ? 'Why you deny it now; the requester and the audit trail see it.'
              : ''
        }
        onInput={(e) => {
          setComment(e.currentTarget.value);
          if (commentError !== null && e.currentTarget.value.trim() !== '') setCommentError(null);
        }}
        disabled={!canDeny && !eligibility.breakGlass}
        data-testid="comment"
        aria-invalid={commentError !== null}
        aria-describedby={commentError === null ? undefined : 'comment-error'}
      />
      {commentError !== null && (
        <p id="comment-error" class="field-error" data-testid="comment-error">
          {commentError}
        </p>
      )}
      {canReview && offer !== null && (
        <fieldset class="standing-choice" data-testid="standing-choice">
          <legend>Approve</legend>
          <label>
            <input
              type="radio"
              name="standing-scope"
              checked={standingScope === 'none'}
              onChange={() => setStandingScope('none')}
              data-testid="standing-none"
            />{' '}
            only this request
          </label>
          {offer.scopes.map((scope) => (
            <label key={scope}>
              <input
                type="radio"
                name="standing-scope"
                checked={standingScope === scope}
                onChange={() => setStandingScope(scope)}
                data-testid={`standing-${scope}`}
              />{' '}
              {scopeText(scope, view)}
            </label>
          ))}
          <label>
            for{' '}
            <select
              value={String(standingMs)}
              onChange={(e) => setStandingMs(Number(e.currentTarget.value))}
              disabled={standingScope === 'none'}
              data-testid="standing-duration"
            >
              {durationChoices(offer.maxMs).map((ms) => (
                <option key={ms} value={String(ms)}>
                  {durationText(ms)}
                </option>
              ))}
            </select>
          </label>
        </fieldset>
      )}
      <div class="actions">
        <button
          type="button"
          class="button button-approve"
          onClick={approve}
          disabled={!canReview || busy}
          data-testid="approve"
        >
          Approve
        </button>
        <button
          type="button"
          class="button button-deny"
          onClick={deny}
          disabled={!canDeny || busy}
          data-testid="deny"
        >
          Deny
        </button>
      </div>
      {canReview && (
        <p class="muted small approve-hint" data-testid="approve-hint">
          {approveHint(view)}
        </p>
      )}
      {canWithdraw && (
        <div class="withdraw" data-testid="withdraw-panel">
          <h3>Withdraw</h3>
          <p>
            Withdrawing ends the request: nothing is sent, reviewers can no longer approve it
            {view.mode === 'hold' ? ', and your waiting command stops with an error' : ''}. Running the
            command again asks for approval anew.
          </p>
          {confirming ? (
            <div class="confirm" role="group" aria-label="Confirm withdrawal">
              <p>Withdraw {view.id}?</p>
              <button
                type="button"
                ref={confirmRef}
                class="button button-danger-outline"
                onClick={withdraw}
                disabled={busy}
                data-testid="withdraw-confirm"
              >
                Yes, withdraw it
              </button>{' '}
              <button
                type="button"
                class="button"
                onClick={() => setConfirming(false)}
                disabled={busy}
                data-testid="withdraw-keep"
              >
                Keep it
              </button>
            </div>
          ) : (
            <button
              type="button"
              class="button button-danger-outline"
              onClick={() => setConfirming(true)}
              disabled={busy}
              data-testid="withdraw"
            >
              Withdraw request
            </button>
          )}
        </div>
      )}
      {eligibility.breakGlass && view.state === 'pending' && (
        <div class="break-glass" data-testid="break-glass-panel">
          <h3>Break-glass</h3>
          <p>
            The rules let you approve your own request in an emergency. This is recorded in the audit trail,
            flagged, and announced to the approvers.
          </p>
          <label for="break-glass-reason">Reason (required)</label>
          <textarea
            id="break-glass-reason"
            ref={reasonRef}
            rows={2}
            value={reason}
            onInput={(e) => {
              setReason(e.currentTarget.value);
              if (reasonError !== null && e.currentTarget.value.trim() !== '') setReasonError(null);
            }}
            data-testid="break-glass-reason"
            aria-invalid={reasonError !== null}
            aria-describedby={reasonError === null ? undefined : 'break-glass-error'}
          />
          {reasonError !== null && (
            <p id="break-glass-error" class="field-error">
              {reasonError}
            </p>
          )}
          <button
            type="button"
            class="button button-danger-outline"
            onClick={breakGlass}
            disabled={busy}
            data-testid="break-glass"
          >
            Approve with break-glass
          </button>
        </div>
      )}
    </section>
  );
}
