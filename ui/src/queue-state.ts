// The queue's model: every request the reviewer may see, by id, built from a list and kept
// current by watch events. Pure. Each event carries the whole request, so an event replaces what
// is known — unless it is older than that (an event sent before a re-list was answered but read
// after it): a request only moves forward (pending → decided, more reviews, context filled in,
// escalated, grant used), so the record further along wins.
import type { PendingRequest } from './api-types.js';

export type QueueState = ReadonlyMap<string, PendingRequest>;

export const RECENT_LIMIT = 20;

export function fromList(items: readonly PendingRequest[]): QueueState {
  const state = new Map<string, PendingRequest>();
  for (const item of items) state.set(item.id, item);
  return state;
}

/** How far along a request is, compared field by field. */
function progress(p: PendingRequest): readonly number[] {
  return [
    p.state === 'pending' ? 0 : 1,
    p.reviews.length,
    p.escalated ? 1 : 0,
    p.grantUsed ? 1 : 0,
    p.context === null ? 0 : 1,
  ];
}

/** True when `a` is further along than `b`. */
export function isAhead(a: PendingRequest, b: PendingRequest): boolean {
  const x = progress(a);
  const y = progress(b);
  for (let i = 0; i < x.length; i++) {
    if (x[i]! !== y[i]!) return x[i]! > y[i]!;
  }
  return false;
}

/** The state with `incoming` in it, unless what is known is further along. */
export function upsert(state: QueueState, incoming: PendingRequest): QueueState {
  const known = state.get(incoming.id);
  if (known !== undefined && isAhead(known, incoming)) return state;
  const next = new Map(state);
  next.set(incoming.id, incoming);
  return next;
}

const newestFirst = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);

/** Requests waiting for review, newest first. */
export function pendingItems(state: QueueState): readonly PendingRequest[] {
  return [...state.values()]
    .filter((p) => p.state === 'pending')
    .sort((a, b) => newestFirst(a.createdAt, b.createdAt));
}

/** Requests decided, expired or withdrawn, most recently decided first. */
export function recentItems(state: QueueState, limit = RECENT_LIMIT): readonly PendingRequest[] {
  return [...state.values()]
    .filter((p) => p.state !== 'pending')
    .sort((a, b) => newestFirst(a.decidedAt ?? a.createdAt, b.decidedAt ?? b.createdAt))
    .slice(0, limit);
}
