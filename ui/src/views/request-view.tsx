// /ui/requests/:id — one request, everything a reviewer needs to decide, and the decision (or,
// for its requester, the withdrawal). The page follows the watch: when an event about this
// request arrives (a second approval, the context filled in, the decision, the held command
// stopping waiting) it fetches the request again, since only GET says what this reviewer may do
// now.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api-client.js';
import type { RequestView as RequestViewData, WatchEvent } from '../api-types.js';
import { useApp } from '../app-context.js';
import { StateBadge } from '../components/badges.js';
import { Link } from '../components/link.js';
import { LiveStatus } from '../components/live-status.js';
import { ErrorBox, Loading } from '../components/notice.js';
import { RequirementsView } from '../components/progress-view.js';
import { useNow, useTitle } from '../hooks.js';
import { searchFromFilters, EMPTY_FILTERS } from '../audit-filters.js';
import { reviewDoneText, stateText } from '../request-state.js';
import { useWatch } from '../watch.js';
import { ContextView, MatchedRules, RequestFacts, ReviewsView } from './request-context.js';
import { ReviewPanel, type ReviewAction } from './review-panel.js';
import { StandingCard } from './standing-card.js';

/** The API call for an action: where it goes and what it sends. */
function call(action: ReviewAction): { readonly verb: string; readonly body: object } {
  switch (action.decision) {
    case 'withdraw':
      return { verb: 'cancel', body: {} };
    case 'revoke':
      return { verb: 'revoke', body: {} };
    case 'deny':
      return { verb: 'deny', body: { comment: action.comment } };
    case 'approve':
    case 'break-glass':
      return {
        verb: 'approve',
        body: {
          ...(action.comment.trim() === '' ? {} : { comment: action.comment }),
          ...(action.decision === 'break-glass' ? { breakGlassReason: action.reason } : {}),
          ...(action.decision === 'approve' && action.standing !== undefined
            ? { standing: action.standing }
            : {}),
        },
      };
    default: {
      const unreachable: never = action;
      return unreachable;
    }
  }
}

export function RequestView({ id }: { readonly id: string }) {
  const { api } = useApp();
  const now = useNow();
  const [view, setView] = useState<RequestViewData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  /** Answers older than the newest one asked for are dropped. */
  const seq = useRef(0);
  const path = `requests/${encodeURIComponent(id)}`;
  useTitle(id);

  const load = useCallback(() => {
    const mine = ++seq.current;
    api.get<RequestViewData>(path).then(
      (v) => {
        if (mine !== seq.current) return;
        setView(v);
        setError(null);
      },
      (err: unknown) => {
        if (mine !== seq.current || (err instanceof ApiError && err.unauthorized)) return;
        setError(err instanceof Error ? err.message : String(err));
      },
    );
  }, [api, path]);

  useEffect(() => {
    setView(null);
    setRefusal(null);
    setDone(null);
    load();
  }, [load]);

  const onEvent = useCallback(
    (e: WatchEvent) => {
      if (e.pending.id === id) load();
    },
    [id, load],
  );
  const status = useWatch(api, onEvent, load);

  const act = async (action: ReviewAction): Promise<boolean> => {
    setBusy(true);
    setRefusal(null);
    setDone(null);
    const mine = ++seq.current;
    try {
      const { verb, body } = call(action);
      const v = await api.post<RequestViewData>(`${path}/${verb}`, body);
      if (mine === seq.current) setView(v);
      setDone(
        action.decision === 'revoke'
          ? 'You revoked the standing approval: requests like this one ask for approval again.'
          : reviewDoneText(action.decision, v),
      );
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) return false;
      setRefusal(err instanceof Error ? err.message : String(err));
      // What the reviewer may do may have changed (someone else decided first): ask again.
      load();
      return false;
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="page request-page">
      <nav class="breadcrumb" aria-label="Breadcrumb">
        <Link href="/ui/">Queue</Link> <span aria-hidden="true">/</span> <span class="mono">{id}</span>
      </nav>
      {error !== null && <ErrorBox testId="load-error">{error}</ErrorBox>}
      {view === null && error === null && <Loading what="the request" />}
      {view !== null && (
        <>
          <div class="page-head">
            <div>
              <div class="title-row">
                <h1>
                  Request <span class="mono">{view.id}</span>
                </h1>
                <StateBadge state={view.state} testId="state" />
                {view.escalated && view.state === 'pending' && <span class="tag tag-warning">escalated</span>}
              </div>
              <p class="state-line" data-testid="state-line">
                {stateText(view)}
              </p>
            </div>
            <LiveStatus status={status} />
          </div>
          <div class="command-hero">
            <span class="command-label">kubectl equivalent</span>
            <pre class="command-block with-prompt" data-testid="kubectl-equivalent">
              {view.request.kubectlEquivalent}
            </pre>
          </div>
          <div class="columns">
            <div class="main-col">
              <RequestFacts view={view} now={now} />
              <MatchedRules view={view} />
              <ContextView view={view} />
              <ReviewsView view={view} now={now} />
              <p class="muted small">
                <Link href={`/ui/audit${searchFromFilters({ ...EMPTY_FILTERS, pendingId: view.id })}`}>
                  This request in the audit trail
                </Link>
              </p>
            </div>
            <aside class="side-col">
              <ReviewPanel view={view} act={act} refusal={refusal} busy={busy} done={done} />
              <StandingCard
                view={view}
                now={now}
                busy={busy}
                revoke={() => void act({ decision: 'revoke' })}
              />
              <section class="card" aria-labelledby="approvals-heading">
                <h2 id="approvals-heading">Approvals needed</h2>
                <RequirementsView pending={view} />
              </section>
            </aside>
          </div>
        </>
      )}
    </div>
  );
}
