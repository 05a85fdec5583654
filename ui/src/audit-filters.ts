// The audit view's filters: read from and written to the page's URL query (so a view can be
// linked; nothing in it is secret), and turned into the audit API's query. Pure. Times are ISO in
// both queries, so a link means the same moment in every time zone; the datetime-local inputs
// show them in the reader's local time.

export const DECISIONS = ['allow', 'deny', 'approve', 'reject', 'unauthenticated', 'error'] as const;
export const EVENT_KINDS = [
  'decided',
  'approval-requested',
  'reviewed',
  'escalated',
  'expired',
  'withdrawn',
  'reason-given',
  'granted',
  'forwarded',
  'refused',
] as const;
export const DEFAULT_LIMIT = 200;
export const MAX_LIMIT = 1000;

export interface AuditFilters {
  readonly user: string;
  readonly namespace: string;
  readonly verb: string;
  readonly resource: string;
  readonly decision: string;
  readonly kind: string;
  readonly pendingId: string;
  /** ISO 8601, or '' */
  readonly since: string;
  /** ISO 8601, or '' */
  readonly until: string;
  readonly limit: number;
}

const TEXT_KEYS = [
  'user',
  'namespace',
  'verb',
  'resource',
  'decision',
  'kind',
  'pendingId',
  'since',
  'until',
] as const;

export const EMPTY_FILTERS: AuditFilters = {
  user: '',
  namespace: '',
  verb: '',
  resource: '',
  decision: '',
  kind: '',
  pendingId: '',
  since: '',
  until: '',
  limit: DEFAULT_LIMIT,
};

/** A limit the API takes: a whole number from 1 to MAX_LIMIT, else the default. */
export function clampLimit(value: string | number | null | undefined): number {
  const n = typeof value === 'number' ? value : Number(value ?? '');
  if (!Number.isFinite(n) || value === '' || value === null || value === undefined) return DEFAULT_LIMIT;
  return Math.min(MAX_LIMIT, Math.max(1, Math.trunc(n)));
}

/** An ISO time, or '' for anything that is not a time. */
function isoOrEmpty(value: string): string {
  if (value === '') return '';
  const t = Date.parse(value);
  return Number.isNaN(t) ? '' : new Date(t).toISOString();
}

/** The filters in the page's URL query (`?user=alice&since=…`); unknown keys are ignored. */
export function filtersFromSearch(search: string): AuditFilters {
  const params = new URLSearchParams(search);
  const text = (key: (typeof TEXT_KEYS)[number]): string => (params.get(key) ?? '').trim();
  return {
    user: text('user'),
    namespace: text('namespace'),
    verb: text('verb'),
    resource: text('resource'),
    decision: text('decision'),
    kind: text('kind'),
    pendingId: text('pendingId'),
    since: isoOrEmpty(text('since')),
    until: isoOrEmpty(text('until')),
    limit: clampLimit(params.get('limit')),
  };
}

/**
 * The query string for the filters ('' when none is set), used both in the page's URL and for
 * GET /kubegate/v1/audit: empty filters are left out (the API refuses none, but a short link
 * reads better), and the default limit too.
 */
export function searchFromFilters(filters: AuditFilters): string {
  const params = new URLSearchParams();
  for (const key of TEXT_KEYS) {
    const value = filters[key].trim();
    if (value !== '') params.set(key, value);
  }
  if (filters.limit !== DEFAULT_LIMIT) params.set('limit', String(clampLimit(filters.limit)));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** An ISO time as a datetime-local input's value, in local time ('' for none). */
export function isoToLocalInput(iso: string): string {
  if (iso === '') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local input's value (local time, no zone) as ISO; '' for none or garbage. */
export function localInputToIso(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/u.exec(value.trim());
  if (m === null) return '';
  const [, y, mo, d, h, mi, s, ms] = m;
  const date = new Date(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s ?? 0),
    Number((ms ?? '0').padEnd(3, '0')),
  );
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

/** True when any filter narrows the view. */
export function hasFilters(filters: AuditFilters): boolean {
  return searchFromFilters({ ...filters, limit: DEFAULT_LIMIT }) !== '';
}
