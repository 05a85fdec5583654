// How times, ages and identities read in the UI. Pure: the current time is always passed in.

/** "just now", "42s", "5m", "3h 20m", "2d 4h": how long ago `iso` was, at `now`. */
export function formatAge(iso: string, now: number): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '';
  return formatSpan(Math.max(0, now - then));
}

/** A span in the largest two units, e.g. "3h 20m"; below five seconds "just now". */
export function formatSpan(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h}h` : `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d}d` : `${d}d ${h % 24}h`;
}

/** "in 4m" or "4m ago" for a deadline or an event, relative to `now`. */
export function formatRelative(iso: string, now: number): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '';
  const span = formatSpan(Math.abs(then - now));
  if (span === 'just now') return span;
  return then >= now ? `in ${span}` : `${span} ago`;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Local time as `2025-05-01 14:03:07`: sortable, unambiguous, no locale surprises. */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The first characters of a hash, enough to compare by eye. */
export function shortHash(hash: string, length = 12): string {
  return hash.length <= length ? hash : `${hash.slice(0, length)}…`;
}

/** `user:alice` / `group:sre` (as the policy writes approvers) for reading: "alice", "group sre". */
export function approverLabel(
  approver: string | { readonly kind: 'user' | 'group'; readonly name: string },
): string {
  if (typeof approver !== 'string')
    return approver.kind === 'group' ? `group ${approver.name}` : approver.name;
  if (approver.startsWith('group:')) return `group ${approver.slice('group:'.length)}`;
  if (approver.startsWith('user:')) return approver.slice('user:'.length);
  return approver;
}

/** namespace/name, or whichever of them there is; '' when neither. */
export function objectRef(namespace: string | null | undefined, name: string | null | undefined): string {
  const ns = namespace ?? '';
  const n = name ?? '';
  if (ns !== '' && n !== '') return `${ns}/${n}`;
  return ns !== '' ? ns : n;
}

/** resource/subresource, as kubectl and RBAC write it. */
export function resourceRef(
  resource: string | null | undefined,
  subresource: string | null | undefined,
): string {
  const r = resource ?? '';
  const s = subresource ?? '';
  return s === '' ? r : `${r}/${s}`;
}

/**
 * A command line as a POSIX shell would read it back: words of plain characters as they are,
 * anything else in single quotes (a quote inside as '\''), so that `sh -c 'cat /etc/x'` is not
 * shown as four words.
 */
export function shellQuote(args: readonly string[]): string {
  return args
    .map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/u.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`))
    .join(' ');
}
