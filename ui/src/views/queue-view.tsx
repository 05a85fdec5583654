// /ui/: the reviewer's queue. Pending requests, newest first, and the recently decided ones, kept
// current by the watch: a new request appears, a reviewed one updates, a decided one (withdrawn
// by its requester included) moves down, and one whose held command stopped waiting says so.
// On every (re)open of the watch the list is fetched again; events that arrive while it loads are
// applied after it (queue-state.ts keeps whichever record is further along).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api-client.js';
import type { PendingRequest, RequestList, WatchEvent } from '../api-types.js';
import { useApp } from '../app-context.js';
import { StateBadge } from '../components/badges.js';
import { Link } from '../components/link.js';
import { LiveStatus } from '../components/live-status.js';
import { ErrorBox, Loading } from '../components/notice.js';
import { ProgressSummary } from '../components/progress-view.js';
import { reviewableBy } from '../progress.js';
import { formatRelative, formatTime } from '../format.js';
import { useNow, useTitle } from '../hooks.js';
import { fromList, pendingItems, recentItems, upsert, type QueueState } from '../queue-state.js';
import { stateText, waitingNote } from '../request-state.js';
import { requestPath } from '../routes.js';
import { useWatch } from '../watch.js';
import { subjectLabel } from '../../../src/identity/agents.js';

export function QueueView() {
  const { api, session } = useApp();
  const now = useNow();
  const [state, setState] = useState<QueueState | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** Events received while a list is loading; null when none is. */
  const buffered = useRef<WatchEvent[] | null>(null);
  const loadSeq = useRef(0);

  const load = useCallback(() => {
    const seq = ++loadSeq.current;
    const events: WatchEvent[] = [];
    buffered.current = events;
    api.get<RequestList>('requests').then(
      (list) => {
        if (seq !== loadSeq.current) return;
        let next = fromList(list.items);
        for (const e of events) next = upsert(next, e.pending);
        buffered.current = null;
        setState(next);
        setError(null);
      },
      (err: unknown) => {
        if (seq !== loadSeq.current) return;
        buffered.current = null;
        if (err instanceof ApiError && err.unauthorized) return;
        setError(err instanceof Error ? err.message : String(err));
      },
    );
  }, [api]);

  useEffect(load, [load]);

  const onEvent = useCallback((e: WatchEvent) => {
    if (buffered.current !== null) buffered.current.push(e);
    else setState((s) => (s === null ? s : upsert(s, e.pending)));
  }, []);
  const status = useWatch(api, onEvent, load);

  const pending = state === null ? [] : pendingItems(state);
  const recent = state === null ? [] : recentItems(state);
  useTitle(pending.length > 0 ? `(${pending.length}) Queue` : 'Queue');

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <h1>Approval queue</h1>
          <p class="muted">Requests held by kubegate until the people the policy names approve them.</p>
        </div>
        <LiveStatus status={status} />
      </div>
      {error !== null && <ErrorBox>{error}</ErrorBox>}

      <section aria-labelledby="pending-heading">
        <h2 id="pending-heading">
          Waiting for review <span class="count">{state === null ? '' : pending.length}</span>
        </h2>
        {state === null && error === null && <Loading what="requests" />}
        <ul class="queue" data-testid="queue">
          {state !== null && pending.length === 0 && (
            <li class="empty">Nothing is waiting for review. New requests appear here as they are made.</li>
          )}
          {pending.map((p) => (
            <QueueItem
              key={p.id}
              pending={p}
              now={now}
              mine={p.requester.user === session?.user}
              yours={session !== null && reviewableBy(p, session, now)}
            />
          ))}
        </ul>
      </section>

      <section aria-labelledby="recent-heading">
        <h2 id="recent-heading">Recently decided</h2>
        {state !== null && recent.length === 0 ? (
          <p class="empty">No decided requests yet.</p>
        ) : (
          <div class="table-wrap">
            <table class="table" data-testid="recent">
              <thead>
                <tr>
                  <th scope="col">Request</th>
                  <th scope="col">State</th>
                  <th scope="col">Requester</th>
                  <th scope="col">Command</th>
                  <th scope="col">Reviewed by</th>
                  <th scope="col">Decided</th>
                </tr>
              </thead>
              <tbody>
                {recent.map((p) => (
                  <RecentRow key={p.id} pending={p} now={now} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

interface QueueItemProps {
  readonly pending: PendingRequest;
  readonly now: number;
  /** The viewer asked for it. */
  readonly mine: boolean;
  /** The viewer may review it now (a hint; the request page asks the server). */
  readonly yours: boolean;
}

function QueueItem({ pending, now, mine, yours }: QueueItemProps) {
  const href = requestPath(pending.id);
  const note = waitingNote(pending);
  return (
    <li class={yours ? 'queue-item queue-item-yours' : 'queue-item'} data-request-id={pending.id}>
      <div class="queue-main">
        <div class="queue-meta">
          <Link href={href} class="request-id mono">
            {pending.id}
          </Link>
          <span class="who">
            <strong>{subjectLabel(pending.requester)}</strong>
            {pending.requester.groups.length > 0 && (
              <span class="muted"> ({pending.requester.groups.join(', ')})</span>
            )}
          </span>
          {mine && <span class="tag">your request</span>}
          {yours && <span class="tag tag-yours">needs your review</span>}
          {pending.escalated && <span class="tag tag-warning">escalated</span>}
          {note !== null ? (
            <span class="tag tag-warning" title={note}>
              no longer waiting
            </span>
          ) : (
            pending.mode === 'deferred' && <span class="tag">deferred</span>
          )}
          <time class="muted" dateTime={pending.createdAt} title={formatTime(pending.createdAt)}>
            {formatRelative(pending.createdAt, now)}
          </time>
        </div>
        <code class="command">{pending.request.kubectlEquivalent}</code>
        {note !== null && (
          <p class="queue-note" data-testid="waiting-note">
            {note}
          </p>
        )}
        <div class="queue-rules">
          {pending.rules.map((rule) => (
            <span
              key={rule.name}
              class={`rule-name decision-${rule.action}`}
              title={rule.message ?? `${rule.action} rule`}
            >
              {rule.name}
            </span>
          ))}
        </div>
      </div>
      <div class="queue-side">
        <ProgressSummary pending={pending} />
        <Link
          href={href}
          class={yours ? 'button button-small button-primary' : 'button button-small'}
          aria-label={`${yours ? 'Review' : 'View'} ${pending.id}`}
        >
          {yours ? 'Review' : 'View'}
        </Link>
      </div>
    </li>
  );
}

function RecentRow({ pending, now }: { readonly pending: PendingRequest; readonly now: number }) {
  const reviewers = pending.reviews.map((r) => `${r.reviewer}${r.decision === 'deny' ? ' (denied)' : ''}`);
  const decided = pending.decidedAt ?? pending.createdAt;
  return (
    <tr data-decided-request-id={pending.id}>
      <td>
        <Link href={requestPath(pending.id)} class="mono">
          {pending.id}
        </Link>
      </td>
      <td title={stateText(pending)}>
        <StateBadge state={pending.state} />
        {pending.state === 'withdrawn' && <span class="muted small"> by its requester</span>}
      </td>
      <td>{subjectLabel(pending.requester)}</td>
      <td class="cell-command">
        <code class="command-inline">{pending.request.kubectlEquivalent}</code>
      </td>
      <td>{reviewers.length === 0 ? <span class="muted">—</span> : reviewers.join(', ')}</td>
      <td>
        <time dateTime={decided} title={formatTime(decided)}>
          {formatRelative(decided, now)}
        </time>
      </td>
    </tr>
  );
}
