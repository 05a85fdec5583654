// Why the requester asks (issue 16, "reviewers see why"): the reason they set with `kubegate
// reason` or give here. Everyone who may see the request reads it; its requester may give or
// change it while the request is pending (eligibility.canGiveReason), and kubegate audits each
// change. The text is the requester's: rendered as text only (never as markup), one line, at most
// MAX_REASON_LENGTH characters, which the server checks again.
import { useState } from 'preact/hooks';
import type { RequestView } from '../api-types.js';
import { ApiError } from '../api-client.js';
import { useApp } from '../app-context.js';

/** As approvals/reasons.ts (the server refuses anything longer). */
const MAX_REASON_LENGTH = 500;

export function ReasonField({ view }: { readonly view: RequestView }) {
  const { api } = useApp();
  const [saved, setSaved] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const current = saved ?? view.reason ?? null;
  const canGive = view.eligibility.canGiveReason && view.state === 'pending';

  async function save(event: Event): Promise<void> {
    event.preventDefault();
    const text = draft.trim();
    if (text === '') {
      setError('Say in a few words why you ask.');
      return;
    }
    setBusy(true);
    try {
      const updated = await api.post<RequestView>(`requests/${encodeURIComponent(view.id)}/reason`, {
        reason: text,
      });
      setSaved(updated.reason ?? text);
      setEditing(false);
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'kubegate could not be reached; try again.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="reason" data-testid="reason-field">
      {current === null ? (
        <span class="muted" data-testid="reason-none">
          none given
        </span>
      ) : (
        <q data-testid="reason">{current}</q>
      )}
      {canGive && !editing && (
        <button
          type="button"
          class="button button-small"
          data-testid="reason-edit"
          onClick={() => {
            setDraft(current ?? '');
            setEditing(true);
          }}
        >
          {current === null ? 'Give a reason' : 'Change'}
        </button>
      )}
      {canGive && editing && (
        <form class="reason-form" onSubmit={(e) => void save(e)}>
          <label for="reason-input" class="visually-hidden">
            Your reason (reviewers see it)
          </label>
          <input
            id="reason-input"
            type="text"
            value={draft}
            maxLength={MAX_REASON_LENGTH}
            placeholder="Why you need this: a ticket, an incident, a few words"
            onInput={(e) => setDraft(e.currentTarget.value)}
            aria-invalid={error !== null}
            data-testid="reason-input"
          />
          <button type="submit" class="button" disabled={busy} data-testid="reason-save">
            Save
          </button>
          <button type="button" class="button button-small" onClick={() => setEditing(false)} disabled={busy}>
            Cancel
          </button>
        </form>
      )}
      {error !== null && (
        <p class="field-error" data-testid="reason-error">
          {error}
        </p>
      )}
    </div>
  );
}
