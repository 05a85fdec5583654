// A request's standing approval on its page: what it covers, until when, who gave it, how often
// it was used, and a Revoke button (the server lets the requester and the request's approvers
// revoke; anyone else is told why). Revoking asks to be confirmed: it ends it for the requester.
import { useState } from 'preact/hooks';
import type { RequestView } from '../api-types.js';
import { scopeText, standingStatus } from '../standing.js';
import { formatTime } from '../format.js';

interface Props {
  readonly view: RequestView;
  readonly now: number;
  readonly busy: boolean;
  readonly revoke: () => void;
}

export function StandingCard({ view, now, busy, revoke }: Props) {
  const [confirming, setConfirming] = useState(false);
  const s = view.standing;
  const status = standingStatus(view, now);
  if (s === undefined || status === null) return null;
  const uses = `${s.uses} request${s.uses === 1 ? '' : 's'} let through so far`;
  return (
    <section class="card standing" aria-labelledby="standing-heading" data-testid="standing">
      <h2 id="standing-heading">Standing approval</h2>
      <p data-testid="standing-scope">Covers {scopeText(s.scope, view)}.</p>
      <p data-testid="standing-status">
        {status === 'active' && (
          <>
            In force until {formatTime(s.until)}, given by {s.grantedBy}; {uses}.
          </>
        )}
        {status === 'ended' && (
          <>
            Ended at {formatTime(s.until)}; {uses}.
          </>
        )}
        {status === 'revoked' && (
          <>
            Revoked by {s.revokedBy} at {formatTime(s.revokedAt ?? '')}; {uses}.
          </>
        )}
      </p>
      {status === 'active' &&
        (confirming ? (
          <div class="confirm" role="group" aria-label="Confirm revocation">
            <p>Revoke it? Requests like this one ask for approval again.</p>
            <button
              type="button"
              class="button button-danger-outline"
              onClick={() => {
                setConfirming(false);
                revoke();
              }}
              disabled={busy}
              data-testid="standing-revoke-confirm"
            >
              Yes, revoke it
            </button>{' '}
            <button type="button" class="button" onClick={() => setConfirming(false)} disabled={busy}>
              Keep it
            </button>
          </div>
        ) : (
          <button
            type="button"
            class="button button-danger-outline"
            onClick={() => setConfirming(true)}
            disabled={busy}
            data-testid="standing-revoke"
          >
            Revoke
          </button>
        ))}
    </section>
  );
}
