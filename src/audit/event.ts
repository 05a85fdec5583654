// The audit trail's unit: one event of one request's life (decided, approval requested, each
// review, escalation, expiry, grant used, forwarded with the API server's answer, refused).
// Stored hash-chained (audit/chain.ts); never holds bodies, tokens or certificates.
import type { AuditDecision, AuditRequestSummary } from './record.js';

export type AuditEventKind =
  | 'decided' // identity + parsed request + policy decision; for a mutation, durable before forwarding
  | 'approval-requested'
  | 'reviewed'
  | 'escalated'
  | 'expired'
  | 'withdrawn' // the requester took their pending request back
  | 'reason-given' // the requester gave or changed the reason of their pending request (comment)
  | 'granted' // an approval let this request through (held, a re-run within grantTTL, or a standing approval)
  | 'revoked' // a standing approval was ended before its time
  | 'forwarded' // the API server answered (any status); latency to its response head
  | 'refused'; // kubegate answered (unauthenticated, rejected, denied, approval required, upstream down)

export interface AuditEvent {
  readonly time: string; // ISO 8601 with milliseconds
  readonly kind: AuditEventKind;
  /** The gateway request id (sent upstream as Impersonate-Extra-kubegate.dev/request-id). */
  readonly requestId: string | null;
  /** The pending request's id, for approval events. */
  readonly pendingId: string | null;
  /** Who asked (the requester); null when unauthenticated. */
  readonly user: string | null;
  readonly groups: readonly string[];
  /**
   * For a requester who signed in with OpenID Connect: the issuer and the token's `sub`, which
   * name them for good (two issuers' "alice" are two people). Absent otherwise, so records of
   * other identities hash as before.
   */
  readonly oidc?: AuditOidcSubject;
  /**
   * Set when the requester is an AI agent (identity.agents in the config), with the person it
   * acts for when its credential names one. Absent for people, so their records hash as before.
   */
  readonly agent?: true;
  readonly onBehalfOf?: string;
  /** Who acted, when not the requester: the reviewer of a 'reviewed' event. */
  readonly actor: string | null;
  readonly sourceAddress: string | null;
  readonly request: AuditRequestSummary | null;
  readonly decision: AuditDecision | null;
  readonly rules: readonly string[];
  readonly status: number | null;
  readonly errorCode: string | null;
  readonly latencyMs: number | null;
  readonly durationMs: number | null;
  /** Reviewer's comment, break-glass reason, or a refusal's message. */
  readonly comment: string | null;
  /** Loud flag for a requester's self-approval through a rule's break-glass path. */
  readonly breakGlass: boolean;
  /**
   * The standing approval a record gives ('reviewed'), uses ('granted') or ends ('revoked'); `uses`
   * counts this use. Absent otherwise, so other records hash as before.
   */
  readonly standing?: AuditStanding;
}

export interface AuditStanding {
  readonly scope: 'identical' | 'rule';
  readonly until: string;
  readonly uses: number;
}

/** Where an OIDC requester came from (identity/types.ts OidcSubject, as the trail keeps it). */
export interface AuditOidcSubject {
  readonly issuer: string;
  readonly subject: string;
}

/** The sink every stage writes to. */
export interface AuditTrail {
  /** Resolves once the event is durable (group commit): mutations and approval events. */
  append(event: AuditEvent): Promise<void>;
  /** Batched, durable within milliseconds: reads and after-the-fact events. */
  appendLater(event: AuditEvent): void;
  /** Writes what is queued and closes; a second call does nothing. */
  close(): Promise<void>;
}

/** An event with every optional field empty; callers spread what they know over it. */
export function auditEvent(kind: AuditEventKind, time: Date, fields: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: time.toISOString(),
    kind,
    requestId: null,
    pendingId: null,
    user: null,
    groups: [],
    actor: null,
    sourceAddress: null,
    request: null,
    decision: null,
    rules: [],
    status: null,
    errorCode: null,
    latencyMs: null,
    durationMs: null,
    comment: null,
    breakGlass: false,
    ...fields,
  };
}
