// kubegate's Prometheus metrics (prom-client): one registry per gateway, the families below, and
// the small calls the other modules make. Input: what the request path, the approval service,
// the audit trail, the policy store, the OIDC authenticator and the notifier report. Output: the
// text exposition, served on its own listener (metrics/server.ts).
//
// Counters count what THIS replica did (Prometheus sums the replicas); the pending gauge reads
// the store, which every replica shares, so it is the same on each (take max, not sum).
// Label values are bounded: verbs and decisions are closed sets, rule names come from the
// operator's policy, and resources are kept for the first MAX_RESOURCES names seen (a client can
// send any resource name; the rest count as "other"). No user, group, namespace or object name is
// ever a label.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApprovalEvent, PendingRequest } from '../approvals/types.js';
import type { AuditEvent } from '../audit/event.js';

/** Distinct resource label values kept; past this, "other". */
export const MAX_RESOURCES = 200;

const VERBS = new Set([
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'head',
  'options',
  'connect',
  'proxy',
]);

/** Seconds buckets for kubegate's own stages: tens of microseconds to a second. */
const STAGE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1];
/** Seconds buckets for the API server and the audit trail's durable writes. */
const IO_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds buckets for a person's decision: seconds to a day. */
const DECISION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600];

export type Stage = 'identify' | 'parse' | 'decide';
export type StreamKind = 'watch' | 'upgrade';

/** Implements the request path's observer (gateway/pipeline.ts PipelineObserver). */
export class Metrics {
  readonly registry = new Registry();
  readonly #resources = new Set<string>();

  readonly requests = new Counter({
    name: 'kubegate_requests_total',
    help: 'Requests answered, by verb, resource, kubegate decision and HTTP status code.',
    labelNames: ['verb', 'resource', 'decision', 'code'] as const,
    registers: [this.registry],
  });
  readonly stageSeconds = new Histogram({
    name: 'kubegate_stage_duration_seconds',
    help: "Time spent in kubegate's own stages of a request (identify, parse, decide); holding for approval is not included.",
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });
  readonly upstreamSeconds = new Histogram({
    name: 'kubegate_upstream_duration_seconds',
    help: "Time from forwarding a request to the API server's response head.",
    labelNames: ['verb'] as const,
    buckets: IO_BUCKETS,
    registers: [this.registry],
  });
  readonly approvalsRequested = new Counter({
    name: 'kubegate_approvals_requested_total',
    help: 'Requests held for approval, by the rule that asked for it.',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });
  readonly pending: Gauge<'rule'>;
  readonly decisions = new Counter({
    name: 'kubegate_approval_decisions_total',
    help: 'Held requests that left pending here, by outcome: approved, denied, expired, withdrawn.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly timeToDecision = new Histogram({
    name: 'kubegate_approval_time_to_decision_seconds',
    help: 'From a request being held to its decision (approved, denied, expired or withdrawn).',
    labelNames: ['outcome'] as const,
    buckets: DECISION_BUCKETS,
    registers: [this.registry],
  });
  readonly reviews = new Counter({
    name: 'kubegate_reviews_total',
    help: 'Reviews given, by verdict.',
    labelNames: ['verdict'] as const,
    registers: [this.registry],
  });
  readonly breakGlass = new Counter({
    name: 'kubegate_break_glass_total',
    help: 'Requesters who approved their own request through a break-glass rule.',
    registers: [this.registry],
  });
  readonly escalations = new Counter({
    name: 'kubegate_approval_escalations_total',
    help: 'Held requests escalated to more approvers.',
    registers: [this.registry],
  });
  readonly grantsUsed = new Counter({
    name: 'kubegate_grants_used_total',
    help: 'Approvals used to let a request through (the held client, or the re-run).',
    registers: [this.registry],
  });
  readonly auditAppends = new Counter({
    name: 'kubegate_audit_appends_total',
    help: 'Audit records appended, by mode: durable (awaited before going on) or batched.',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  readonly auditDurableSeconds = new Histogram({
    name: 'kubegate_audit_durable_append_seconds',
    help: 'Time for a durable audit append to be committed (group commit included).',
    buckets: IO_BUCKETS,
    registers: [this.registry],
  });
  readonly auditFailures = new Counter({
    name: 'kubegate_audit_append_failures_total',
    help: 'Audit records the store could not take (durable appends refused, batched records lost to the trail and written to the log).',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  readonly policyReloads = new Counter({
    name: 'kubegate_policy_reloads_total',
    help: 'Policy file loads, by result: loaded or failed (a failed reload keeps the last good policy).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly oidcRefreshes = new Counter({
    name: 'kubegate_oidc_key_refreshes_total',
    help: "Fetches of an OpenID provider's discovery document or signing keys (JWKS), by result.",
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly streams = new Gauge({
    name: 'kubegate_open_streams',
    help: 'Watches and upgraded streams (exec, attach, port-forward) open through kubegate now.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Counter({
    name: 'kubegate_webhook_deliveries_total',
    help: 'Notification webhook deliveries, by result: delivered or failed (after its retries).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** `pendingNow` lists the pending requests at scrape time (the store), for the pending gauge. */
  constructor(options: { readonly pendingNow?: () => Promise<readonly PendingRequest[]> } = {}) {
    collectDefaultMetrics({ register: this.registry, prefix: 'kubegate_' });
    const { pendingNow } = options;
    this.pending = new Gauge({
      name: 'kubegate_pending_requests',
      help: 'Requests waiting for a decision now, by rule (read from the shared store at each scrape: the same on every replica).',
      labelNames: ['rule'] as const,
      registers: [this.registry],
      // Read at scrape time: exact across replicas and restarts, nothing to keep in step.
      ...(pendingNow === undefined
        ? {}
        : {
            async collect(this: Gauge<'rule'>) {
              const pending = await pendingNow();
              this.reset();
              for (const p of pending) for (const rule of approvalRules(p)) this.inc({ rule });
            },
          }),
    });
  }

  /** One audit record this replica wrote (the audit trail observer calls it): request counts. */
  recorded(event: AuditEvent): void {
    const request = event.request;
    if (event.kind === 'forwarded' || event.kind === 'refused') {
      this.requests.inc({
        verb: verbLabel(request?.verb ?? null),
        resource: this.#resourceLabel(request?.resource ?? null),
        decision: event.decision ?? 'none',
        code: String(event.status ?? 0),
      });
    }
  }

  /** An approval event this replica made (not one heard from another replica). */
  approval(event: ApprovalEvent): void {
    const p = event.pending;
    switch (event.type) {
      case 'created':
        for (const rule of approvalRules(p)) this.approvalsRequested.inc({ rule });
        return;
      case 'reviewed':
        this.reviews.inc({ verdict: event.review.decision });
        if (event.review.breakGlass) this.breakGlass.inc();
        return;
      case 'escalated':
        this.escalations.inc();
        return;
      case 'granted':
        this.grantsUsed.inc();
        return;
      case 'decided':
      case 'expired': {
        const outcome = p.state;
        this.decisions.inc({ outcome });
        const decidedAt = Date.parse(p.decidedAt ?? '') || Date.now();
        this.timeToDecision.observe({ outcome }, Math.max(0, decidedAt - Date.parse(p.createdAt)) / 1000);
        return;
      }
      case 'context':
      case 'updated':
        return;
    }
  }

  stage(stage: Stage, seconds: number): void {
    this.stageSeconds.observe({ stage }, seconds);
  }

  upstream(verb: string, seconds: number): void {
    this.upstreamSeconds.observe({ verb: verbLabel(verb) }, seconds);
  }

  /** A watch or upgraded stream opened (+1) or ended (-1). */
  stream(kind: StreamKind, delta: 1 | -1): void {
    this.streams.inc({ kind }, delta);
  }

  #resourceLabel(resource: string | null): string {
    if (resource === null) return 'none';
    if (this.#resources.has(resource)) return resource;
    if (this.#resources.size >= MAX_RESOURCES) return 'other';
    this.#resources.add(resource);
    return resource;
  }
}

function verbLabel(verb: string | null): string {
  if (verb === null) return 'none';
  return VERBS.has(verb) ? verb : 'other';
}

/**
 * The rules a pending request waits on: those whose approval it needs, not every rule that
 * matched (an exec into a sensitive pod matches an allow rule too, which asks nobody);
 * "(defaults)" when no rule covers it and the policy's defaults ask for approval.
 */
function approvalRules(p: PendingRequest): Set<string> {
  return new Set(p.requirements.map((r) => r.rule ?? '(defaults)'));
}
