// The queryable copies of an audit event's fields, which a store keeps beside the event's
// canonical text so that `audit query` filters on indexed columns. Shared by every store
// (SQLite now, PostgreSQL later): written at append, compared again at verify, since the hash
// covers the text only and a column changed alone would hide a record from a query while the
// chain still verified. Pure: no I/O.
import type { AuditEvent } from '../audit/event.js';

export interface AuditColumns {
  readonly time: string;
  readonly kind: string;
  readonly request_id: string | null;
  readonly pending_id: string | null;
  readonly user: string | null;
  readonly actor: string | null;
  readonly verb: string | null;
  readonly namespace: string | null;
  /** `pods`, or `pods/exec` for a subresource: one filter finds both. */
  readonly resource: string | null;
  readonly decision: string | null;
}

export const AUDIT_COLUMN_NAMES = [
  'time',
  'kind',
  'request_id',
  'pending_id',
  'user',
  'actor',
  'verb',
  'namespace',
  'resource',
  'decision',
] as const satisfies readonly (keyof AuditColumns)[];

export function auditColumns(event: AuditEvent): AuditColumns {
  const request = event.request;
  const resource =
    request?.resource == null
      ? null
      : request.subresource == null || request.subresource === ''
        ? request.resource
        : `${request.resource}/${request.subresource}`;
  return {
    time: event.time,
    kind: event.kind,
    request_id: event.requestId,
    pending_id: event.pendingId,
    user: event.user,
    actor: event.actor,
    verb: request?.verb ?? null,
    namespace: request?.namespace ?? null,
    resource,
    decision: event.decision,
  };
}

/**
 * Why `stored` columns disagree with the event parsed from the hashed `canonical` text, or null
 * when they agree.
 */
export function columnsDisagree(stored: AuditColumns, canonical: string): string | null {
  let event: AuditEvent;
  try {
    event = JSON.parse(canonical) as AuditEvent;
  } catch {
    return 'its text is not JSON';
  }
  const want = auditColumns(event);
  for (const name of AUDIT_COLUMN_NAMES) {
    if (stored[name] !== want[name]) {
      return `its ${name} column says ${JSON.stringify(stored[name])} but the hashed record says ${JSON.stringify(want[name])}`;
    }
  }
  return null;
}
