// /ui/audit — the hash-chained audit trail: the chain's verification at the top, filters that
// live in the URL query (a view can be linked; nothing in it is secret), and the matching records
// newest first. Only audit readers may see it; anyone else gets the server's 403 message.
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api-client.js';
import type { AuditRecord, AuditRecordList, AuditVerification } from '../api-types.js';
import {
  DECISIONS,
  EVENT_KINDS,
  MAX_LIMIT,
  EMPTY_FILTERS,
  clampLimit,
  filtersFromSearch,
  hasFilters,
  isoToLocalInput,
  localInputToIso,
  searchFromFilters,
  type AuditFilters,
} from '../audit-filters.js';
import { useApp } from '../app-context.js';
import { DecisionBadge } from '../components/badges.js';
import { Link } from '../components/link.js';
import { ErrorBox, Loading } from '../components/notice.js';
import { formatRelative, formatTime, objectRef, resourceRef, shortHash } from '../format.js';
import { useNow, useTitle } from '../hooks.js';
import { navigate } from '../navigation.js';
import { requestPath } from '../routes.js';

type Loaded<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'ok'; readonly value: T }
  | { readonly state: 'error'; readonly message: string };

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function AuditView({ search }: { readonly search: string }) {
  const { api } = useApp();
  const filters = filtersFromSearch(search);
  const query = searchFromFilters(filters);
  const [records, setRecords] = useState<Loaded<readonly AuditRecord[]>>({ state: 'loading' });
  const [chain, setChain] = useState<Loaded<AuditVerification>>({ state: 'loading' });
  const [verifyRun, setVerifyRun] = useState(0);
  useTitle('Audit');

  useEffect(() => {
    const abort = new AbortController();
    setRecords({ state: 'loading' });
    api.get<AuditRecordList>(`audit${query}`, { signal: abort.signal }).then(
      (list) => setRecords({ state: 'ok', value: list.items }),
      (err: unknown) => {
        if (abort.signal.aborted || (err instanceof ApiError && err.unauthorized)) return;
        setRecords({ state: 'error', message: messageOf(err) });
      },
    );
    return () => abort.abort();
  }, [api, query]);

  useEffect(() => {
    const abort = new AbortController();
    setChain({ state: 'loading' });
    api.get<AuditVerification>('audit/verify', { signal: abort.signal }).then(
      (v) => setChain({ state: 'ok', value: v }),
      (err: unknown) => {
        if (abort.signal.aborted || (err instanceof ApiError && err.unauthorized)) return;
        setChain({ state: 'error', message: messageOf(err) });
      },
    );
    return () => abort.abort();
  }, [api, verifyRun]);

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <h1>Audit trail</h1>
          <p class="muted">
            Every decision, review and answer, hash-chained so that an edit or a deletion shows.
          </p>
        </div>
      </div>
      <ChainStatus chain={chain} reverify={() => setVerifyRun((n) => n + 1)} />
      <FilterForm key={query} filters={filters} />
      {records.state === 'loading' && <Loading what="audit records" />}
      {records.state === 'error' && <ErrorBox testId="audit-error">{records.message}</ErrorBox>}
      {records.state === 'ok' && (
        <RecordsTable records={records.value} filtered={hasFilters(filters)} limit={filters.limit} />
      )}
    </div>
  );
}

function ChainStatus({
  chain,
  reverify,
}: {
  readonly chain: Loaded<AuditVerification>;
  readonly reverify: () => void;
}) {
  const now = useNow();
  let body;
  let tone = 'pending';
  if (chain.state === 'loading') {
    body = <span>Verifying the hash chain…</span>;
  } else if (chain.state === 'error') {
    tone = 'unknown';
    body = <span>The chain could not be verified: {chain.message}</span>;
  } else if (chain.value.ok) {
    const v = chain.value;
    tone = 'ok';
    body = (
      <span>
        <strong>Chain intact.</strong> {v.count.toLocaleString('en')} records verified
        {v.head !== null && (
          <>
            {' '}
            · head <span class="mono">#{v.head.seq}</span>{' '}
            <span class="mono hash" title={v.head.hash}>
              {shortHash(v.head.hash, 16)}
            </span>
          </>
        )}{' '}
        <span class="muted">· checked {formatRelative(v.verifiedAt, now)}</span>
      </span>
    );
  } else {
    const v = chain.value;
    tone = 'bad';
    body = (
      <span>
        <strong>Chain broken at record #{v.seq}</strong> ({v.problem}): {v.detail}.{' '}
        <span class="muted">
          {v.count.toLocaleString('en')} records before it verified
          {v.time !== undefined && v.time !== null && <> · record time {formatTime(v.time)}</>}
        </span>
      </span>
    );
  }
  return (
    <div
      class={`chain chain-${tone}`}
      data-testid="chain-status"
      data-ok={chain.state === 'ok' ? String(chain.value.ok) : ''}
    >
      <span class="chain-icon" aria-hidden="true">
        {tone === 'ok' ? '✓' : tone === 'bad' ? '✗' : '…'}
      </span>
      <div class="chain-text">{body}</div>
      <button
        type="button"
        class="button button-small"
        onClick={reverify}
        disabled={chain.state === 'loading'}
      >
        Verify again
      </button>
    </div>
  );
}

function FilterForm({ filters }: { readonly filters: AuditFilters }) {
  const [form, setForm] = useState(() => ({
    ...filters,
    since: isoToLocalInput(filters.since),
    until: isoToLocalInput(filters.until),
    limit: String(filters.limit),
  }));
  const set =
    (key: keyof typeof form) =>
    (e: { currentTarget: { value: string } }): void =>
      setForm((f) => ({ ...f, [key]: e.currentTarget.value }));

  const submit = (e: Event): void => {
    e.preventDefault();
    const next: AuditFilters = {
      ...form,
      since: localInputToIso(form.since),
      until: localInputToIso(form.until),
      limit: clampLimit(form.limit),
    };
    navigate(`/ui/audit${searchFromFilters(next)}`);
  };

  const text = (
    key: 'user' | 'namespace' | 'verb' | 'resource' | 'pendingId',
    label: string,
    placeholder: string,
  ) => (
    <div class="field">
      <label for={`f-${key}`}>{label}</label>
      <input
        id={`f-${key}`}
        name={key}
        value={form[key]}
        placeholder={placeholder}
        onInput={set(key)}
        autoComplete="off"
        spellcheck={false}
        data-testid={`filter-${key}`}
      />
    </div>
  );

  const choice = (key: 'decision' | 'kind', label: string, options: readonly string[]) => (
    <div class="field">
      <label for={`f-${key}`}>{label}</label>
      <select id={`f-${key}`} name={key} value={form[key]} onChange={set(key)} data-testid={`filter-${key}`}>
        <option value="">any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );

  const time = (key: 'since' | 'until', label: string) => (
    <div class="field">
      <label for={`f-${key}`}>{label}</label>
      <input
        id={`f-${key}`}
        name={key}
        type="datetime-local"
        value={form[key]}
        onInput={set(key)}
        data-testid={`filter-${key}`}
      />
    </div>
  );

  return (
    <form
      class="card filters"
      onSubmit={submit}
      aria-label="Filter audit records"
      data-testid="audit-filters"
    >
      {text('user', 'User', 'alice')}
      {text('namespace', 'Namespace', 'prod')}
      {text('verb', 'Verb', 'delete')}
      {text('resource', 'Resource', 'pods or pods/exec')}
      {choice('decision', 'Decision', DECISIONS)}
      {choice('kind', 'Event', EVENT_KINDS)}
      {text('pendingId', 'Pending request', 'kg-…')}
      {time('since', 'Since')}
      {time('until', 'Until')}
      <div class="field field-narrow">
        <label for="f-limit">Limit</label>
        <input
          id="f-limit"
          name="limit"
          type="number"
          min={1}
          max={MAX_LIMIT}
          value={form.limit}
          onInput={set('limit')}
          data-testid="filter-limit"
        />
      </div>
      <div class="filter-actions">
        <button type="submit" class="button button-primary" data-testid="apply-filters">
          Apply
        </button>
        <button
          type="button"
          class="button"
          onClick={() => navigate(`/ui/audit${searchFromFilters(EMPTY_FILTERS)}`)}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

function RecordsTable({
  records,
  filtered,
  limit,
}: {
  readonly records: readonly AuditRecord[];
  readonly filtered: boolean;
  readonly limit: number;
}) {
  if (records.length === 0) {
    return <p class="empty">{filtered ? 'No records match these filters.' : 'The audit trail is empty.'}</p>;
  }
  return (
    <>
      <p class="muted small">
        {records.length} record{records.length === 1 ? '' : 's'}, newest first
        {records.length >= limit && ` (the limit; narrow the filters or raise the limit to see older ones)`}
      </p>
      <div class="table-wrap">
        <table class="table audit-table" data-testid="audit-records">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">User</th>
              <th scope="col">Request</th>
              <th scope="col">Decision</th>
              <th scope="col">Rules</th>
              <th scope="col">Status</th>
              <th scope="col">Pending / actor</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <RecordRow key={r.seq} record={r} />
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function RecordRow({ record }: { readonly record: AuditRecord }) {
  const e = record.event;
  const req = e.request;
  const title = [
    `seq ${record.seq}`,
    `hash ${record.hash}`,
    req === null ? null : `${req.method} ${req.target}`,
    e.groups.length > 0 ? `groups ${e.groups.join(', ')}` : null,
    e.errorCode,
    e.latencyMs === null ? null : `latency ${e.latencyMs} ms`,
  ]
    .filter((x) => x !== null)
    .join('\n');
  return (
    <tr data-seq={record.seq} class={e.breakGlass ? 'row-flagged' : undefined}>
      <td class="mono muted" title={title}>
        {record.seq}
      </td>
      <td class="nowrap">
        <time dateTime={e.time}>{formatTime(e.time)}</time>
      </td>
      <td>
        <span class={`kind kind-${e.kind}`}>{e.kind}</span>
        {e.breakGlass && <span class="tag tag-danger">break-glass</span>}
      </td>
      <td>{e.user ?? <span class="muted">unauthenticated</span>}</td>
      <td class="audit-request">
        {req !== null && (req.verb ?? '') === '' ? (
          <span class="muted">
            {req.method} {req.target.length > 48 ? `${req.target.slice(0, 48)}…` : req.target}
          </span>
        ) : (
          <>
            <span class="verb">{req?.verb ?? ''}</span> {resourceRef(req?.resource, req?.subresource)}{' '}
            <span class="muted">{objectRef(req?.namespace, req?.name)}</span>
          </>
        )}
      </td>
      <td>{e.decision === null ? <span class="muted">—</span> : <DecisionBadge decision={e.decision} />}</td>
      <td class="mono small">
        <span class="rule-list">
          {e.rules.map((r) => (
            <span key={r} class="nowrap">
              {r}
            </span>
          ))}
        </span>
      </td>
      <td class="mono">{e.status ?? ''}</td>
      <td class="small">
        {e.pendingId !== null && (
          <Link href={requestPath(e.pendingId)} class="mono">
            {e.pendingId}
          </Link>
        )}
        {e.actor !== null && <div>by {e.actor}</div>}
        {e.comment !== null && e.comment !== '' && (
          <div class="muted comment-cell" title={e.comment}>
            “{e.comment}”
          </div>
        )}
      </td>
    </tr>
  );
}
