// The request path, in order — the one place that knows it:
//   identify → parse → read body → enrich + decide → hold → (decide again) → forward → audit
// Enrich (the live target object, and discovery's scope of a resource read across namespaces)
// runs inside deps.decide (policy/decide.ts), and only when a rule that could match needs it.
// Each stage is a function of plain data plus deps; this file only sequences them, turns errors
// into Status answers, and writes one audit record per request. Nothing reaches the API server
// without an identity, a parse, a decision and (after) an audit record; a failure anywhere
// before forward answers the client and forwards nothing (fail closed).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { KubegateError } from '../errors.js';
import { agentFields } from '../identity/agents.js';
import type { Identity } from '../identity/types.js';
import type { OwnApi } from '../web/own-api.js';
import type { ClientCredentials, Identify } from '../identity/identify.js';
import { parseRequest } from '../request/parse.js';
import { withBody } from '../request/body.js';
import { isProxy } from '../request/target.js';
import type { KubeRequest, KubeRequestBody } from '../request/types.js';
import type { Decision } from '../policy/decision.js';
import { forward, type ClientResponse } from '../upstream/forward.js';
import { forwardUpgrade } from '../upstream/upgrade.js';
import type { Upstream } from '../upstream/pool.js';
import { summarize, type AuditDecision, type AuditRequestSummary } from '../audit/record.js';
import { auditEvent, type AuditEventKind, type AuditTrail } from '../audit/event.js';
import { readBody, type ClientRequest } from './read-body.js';
import { clientCredentials, tlsSocketOf } from './client-credentials.js';
import { addWarning, writeStatus, writeStatusToSocket } from './respond.js';

export interface DecideInput {
  readonly request: KubeRequest;
  readonly body: KubeRequestBody;
  readonly identity: Identity;
  readonly requestId: string;
}

export interface HoldInput extends DecideInput {
  readonly decision: Extract<Decision, { kind: 'approve' }>;
  /** The exact body bytes, for the reviewers' dry run; null when none. */
  readonly bodyBytes: Buffer | null;
  readonly sourceAddress: string | null;
  /** Aborted when the client goes away: the wait ends (the pending request stays). */
  readonly signal: AbortSignal;
}

/** What a passed hold adds to the answer: kubectl prints the Warning ("approved by …"). */
export interface HoldPassed {
  readonly warning: string | null;
}

export interface GatewayDeps {
  /** The gateway's authenticators: client certificate, then bearer tokens (identity/identify.ts). */
  readonly identify: Identify;
  readonly decide: (input: DecideInput) => Decision | Promise<Decision>;
  /**
   * Resolves when the request may go ahead, with the Warning header value (warningHeaderValue)
   * its answer carries to say who approved it; throws (e.g. KG_APPROVAL_REQUIRED) when not.
   */
  readonly hold: (input: HoldInput) => Promise<HoldPassed | void>;
  readonly upstream: Upstream;
  /** kubegate's own API and web UI (/kubegate/…, /ui): authenticates and answers by itself. */
  readonly ownApi: OwnApi | null;
  readonly audit: AuditTrail;
  readonly log: Logger;
  readonly maxBodyBytes: number;
  readonly now: () => Date;
  /** Timings and open streams, for the metrics; absent: not observed. */
  readonly observe?: PipelineObserver;
}

/** What the request path reports besides its audit records (metrics/metrics.ts implements it). */
export interface PipelineObserver {
  /** Seconds spent in one of kubegate's own stages (holding for approval is not a stage). */
  stage(stage: 'identify' | 'parse' | 'decide', seconds: number): void;
  /** Seconds from forwarding to the API server's response head. */
  upstream(verb: string, seconds: number): void;
  /** A watch or an upgraded stream opened (+1) or ended (-1). */
  stream(kind: 'watch' | 'upgrade', delta: 1 | -1): void;
}

/** Runs `work` and reports its seconds as `stage`. */
async function timed<T>(
  deps: GatewayDeps,
  stage: 'identify' | 'parse' | 'decide',
  work: () => T | Promise<T>,
): Promise<T> {
  if (deps.observe === undefined) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    deps.observe.stage(stage, (performance.now() - started) / 1000);
  }
}

/**
 * Reads are audited in batches; everything else is durable before it is forwarded. A GET through
 * a proxy subresource is not a read: it reaches a kubelet, a pod or a service, and may change
 * anything there (nodes/proxy runs commands).
 */
const READ_VERBS = new Set(['get', 'list', 'watch', 'head', 'options']);

function isRead(request: KubeRequest): boolean {
  return READ_VERBS.has(request.verb) && request.upgrade === null && !isProxy(request);
}

const NO_BYTES = Buffer.alloc(0);

/** Mutable facts gathered along the path, for the one audit record. */
interface Trace {
  readonly requestId: string;
  readonly started: number;
  readonly method: string;
  readonly target: string;
  readonly sourceAddress: string | null;
  identity: Identity | null;
  request: KubeRequest | null;
  body: KubeRequestBody | null;
  /** The audit summary, made once the body is read (it no longer changes after that). */
  summary: AuditRequestSummary | null;
  decision: AuditDecision;
  rules: readonly string[];
  latencyMs: number;
}

function newTrace(
  method: string | undefined,
  target: string | undefined,
  sourceAddress: string | undefined,
): Trace {
  return {
    requestId: randomUUID(),
    started: performance.now(),
    method: method ?? '',
    target: target ?? '',
    sourceAddress: sourceAddress ?? null,
    identity: null,
    request: null,
    body: null,
    summary: null,
    decision: 'error',
    rules: [],
    latencyMs: 0,
  };
}

function summaryOf(trace: Trace): AuditRequestSummary {
  if (trace.summary !== null) return trace.summary;
  const summary = summarize(trace.method, trace.target, trace.request, trace.body);
  if (trace.body !== null) trace.summary = summary;
  return summary;
}

function event(
  deps: GatewayDeps,
  trace: Trace,
  kind: AuditEventKind,
  fields: Parameters<typeof auditEvent>[2] = {},
): ReturnType<typeof auditEvent> {
  return auditEvent(kind, deps.now(), {
    requestId: trace.requestId,
    user: trace.identity?.user ?? null,
    groups: trace.identity?.groups ?? [],
    ...(trace.identity?.oidc === undefined ? {} : { oidc: trace.identity.oidc }),
    ...agentFields(trace.identity),
    sourceAddress: trace.sourceAddress,
    request: summaryOf(trace),
    decision: trace.decision,
    rules: trace.rules,
    ...fields,
  });
}

/** The request's last event: what the API server answered, or what kubegate refused. */
function record(
  deps: GatewayDeps,
  trace: Trace,
  outcome: 'forwarded' | 'refused',
  status: number,
  err: unknown,
): void {
  deps.audit.appendLater(
    event(deps, trace, outcome, {
      status,
      errorCode: err instanceof KubegateError ? err.code : err === null ? null : 'KG_INTERNAL',
      comment: err instanceof KubegateError ? err.message : null,
      latencyMs: round(trace.latencyMs || performance.now() - trace.started),
      durationMs: round(performance.now() - trace.started),
    }),
  );
}

/**
 * The decision's record. For anything but a read it must be durable before the request goes on
 * (invariant 1): if the trail cannot take it, nothing is forwarded.
 */
async function recordDecision(deps: GatewayDeps, trace: Trace, request: KubeRequest): Promise<void> {
  const decided = event(deps, trace, 'decided');
  if (isRead(request)) {
    deps.audit.appendLater(decided);
    return;
  }
  try {
    await deps.audit.append(decided);
  } catch (err) {
    throw new KubegateError(
      'KG_AUDIT_UNAVAILABLE',
      'kubegate cannot record this request in its audit trail, so it was not forwarded. Retry shortly; if it persists, tell the kubegate operators.',
      { cause: err },
    );
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The request's own logger: every line names the request and, once known, its caller. */
function requestLog(deps: GatewayDeps, trace: Trace): Logger {
  return deps.log.child({ requestId: trace.requestId, user: trace.identity?.user ?? null });
}

function logFailure(deps: GatewayDeps, trace: Trace, err: unknown): void {
  if (err instanceof KubegateError) {
    if (err.status >= 500) requestLog(deps, trace).warn({ code: err.code, err: err.cause }, 'request failed');
    return;
  }
  requestLog(deps, trace).error({ err }, 'bug: unexpected error on the request path');
}

/** What admit lets through: the body to forward, and a Warning for the client's answer. */
interface Admitted {
  readonly bytes: Buffer | null;
  readonly warning: string | null;
}

/** identify → parse → decide → hold: everything before forward, shared by both paths. */
async function admit(
  deps: GatewayDeps,
  trace: Trace,
  credentials: ClientCredentials,
  head: { method: string; target: string; headers: IncomingMessage['headers'] },
  readBodyBytes: () => Promise<Buffer | null>,
  signal: AbortSignal,
): Promise<Admitted> {
  trace.decision = 'unauthenticated';
  const { identity } = await timed(deps, 'identify', () => deps.identify(credentials));
  trace.identity = identity;
  trace.decision = 'reject';
  let parsing = performance.now();
  const request = parseRequest(head);
  trace.request = request;
  parsing -= performance.now(); // reading the body is the client's time, not parsing
  const bytes = await readBodyBytes();
  parsing += performance.now();
  // A request without a body is completed too: a DELETE's options then come from its query.
  const body = withBody(request, bytes ?? NO_BYTES);
  deps.observe?.stage('parse', (performance.now() - parsing) / 1000);
  trace.body = body;
  trace.decision = 'error';
  const input: DecideInput = { request, body, identity, requestId: trace.requestId };
  const decision = await timed(deps, 'decide', () => deps.decide(input));
  trace.decision = decision.kind;
  trace.rules = decision.rules.map((r) => r.name);
  switch (decision.kind) {
    case 'allow':
      await recordDecision(deps, trace, request);
      return { bytes, warning: null };
    case 'deny':
      throw new KubegateError('KG_POLICY_DENIED', decision.message, {
        details: { name: request.name, kind: request.resource, group: request.apiGroup },
      });
    case 'approve': {
      await recordDecision(deps, trace, request);
      const passed = await deps.hold({
        ...input,
        decision,
        bodyBytes: bytes,
        sourceAddress: trace.sourceAddress,
        signal,
      });
      // The policy may have changed while the request waited: what was approved must still be
      // what the policy asks for now.
      stillApproved(decision, await deps.decide(input));
      return { bytes, warning: passed?.warning ?? null };
    }
    default: {
      const unreachable: never = decision;
      throw new KubegateError('KG_INTERNAL', `unknown decision ${String(unreachable)}`);
    }
  }
}

/**
 * After a hold: the decision the policy gives now must be covered by what was approved. A deny
 * refuses; an approval under a requirement that was not the one approved asks for a new review.
 */
function stillApproved(approved: Extract<Decision, { kind: 'approve' }>, now: Decision): void {
  switch (now.kind) {
    case 'allow':
      return;
    case 'deny':
      throw new KubegateError(
        'KG_POLICY_CHANGED',
        `The request was approved, but the policy changed while it waited and now refuses it: ${now.message}`,
      );
    case 'approve': {
      const given = new Set(approved.approval.map(requirementKey));
      const missing = now.approval.filter((a) => !given.has(requirementKey(a)));
      if (missing.length === 0) return;
      const rules = missing.map((a) => (a.rule === null ? 'the policy defaults' : `rule "${a.rule}"`));
      throw new KubegateError(
        'KG_POLICY_CHANGED',
        `The request was approved, but the policy changed while it waited: it now needs approval under ${rules.join(', ')}. It was not forwarded; run the command again to ask for that approval.`,
      );
    }
    default: {
      const unreachable: never = now;
      throw new KubegateError('KG_INTERNAL', `unknown decision ${String(unreachable)}`);
    }
  }
}

/** A requirement as approved: its rule and what it asked for (approvers, counts, stages). */
function requirementKey(a: Extract<Decision, { kind: 'approve' }>['approval'][number]): string {
  return JSON.stringify([a.rule, a.stages, a.breakGlass]);
}

export async function handleRequest(
  req: ClientRequest,
  res: ClientResponse,
  deps: GatewayDeps,
): Promise<void> {
  const trace = newTrace(req.method, req.url, req.socket?.remoteAddress);
  const abort = new AbortController();
  // The client went away before the whole answer was written. writableEnded, not writableFinished:
  // an HTTP/2 stream reset reports itself finished, and a held request must see its client leave.
  res.once('close', () => {
    if (!res.writableEnded) abort.abort();
  });
  let bytes: Buffer | null;
  try {
    const socket = tlsSocketOf(req);
    if (deps.ownApi !== null && deps.ownApi.owns(trace.target)) {
      // kubegate's own API and UI: never forwarded; reviews are audited by the approval service.
      await deps.ownApi.handle(req, res, clientCredentials(socket, req.headers.authorization));
      return;
    }
    const admitted = await admit(
      deps,
      trace,
      clientCredentials(socket, req.headers.authorization),
      { method: trace.method, target: trace.target, headers: req.headers },
      () => readBody(req, deps.maxBodyBytes),
      abort.signal,
    );
    bytes = admitted.bytes;
    if (admitted.warning !== null) addWarning(res, admitted.warning);
  } catch (err) {
    logFailure(deps, trace, err);
    const status = writeStatus(res, err, trace.requestId);
    record(deps, trace, 'refused', status, err);
    return;
  }
  const forwardStarted = performance.now();
  const watch = trace.request!.verb === 'watch';
  if (watch) deps.observe?.stream('watch', 1);
  try {
    const result = await forward(
      {
        request: trace.request!,
        body: bytes,
        identity: trace.identity!,
        requestId: trace.requestId,
        rawHeaders: req.rawHeaders,
        sourceAddress: trace.sourceAddress,
      },
      res,
      deps.upstream,
      abort.signal,
    );
    trace.latencyMs = forwardStarted - trace.started + result.headersMs;
    deps.observe?.upstream(trace.request!.verb, result.headersMs / 1000);
    record(deps, trace, 'forwarded', result.status, null);
  } catch (err) {
    logFailure(deps, trace, err);
    const status = writeStatus(res, err, trace.requestId);
    record(deps, trace, 'refused', status, err);
  } finally {
    if (watch) deps.observe?.stream('watch', -1);
  }
}

export async function handleUpgrade(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  deps: GatewayDeps,
): Promise<void> {
  const trace = newTrace(req.method, req.url, req.socket.remoteAddress);
  const abort = new AbortController();
  const onClose = (): void => abort.abort();
  client.once('close', onClose);
  client.on('error', () => client.destroy());
  let streaming = false;
  try {
    const socket = tlsSocketOf(req);
    socket.setTimeout(0); // exec and port-forward sessions may idle for long
    await admit(
      deps,
      trace,
      clientCredentials(socket, req.headers.authorization),
      { method: trace.method, target: trace.target, headers: req.headers },
      () => Promise.resolve(refuseUpgradeBody(req)),
      abort.signal,
    );
    if (trace.request!.upgrade === null) {
      throw new KubegateError(
        'KG_REQUEST_NONCANONICAL',
        `kubegate refused the upgrade to "${String(req.headers.upgrade).slice(0, 40)}": the Kubernetes API speaks only WebSocket and SPDY/3.1.`,
      );
    }
    const forwardStarted = performance.now();
    deps.observe?.stream('upgrade', 1);
    streaming = true;
    const result = await forwardUpgrade(
      {
        request: trace.request!,
        body: null,
        identity: trace.identity!,
        requestId: trace.requestId,
        rawHeaders: req.rawHeaders,
        sourceAddress: trace.sourceAddress,
      },
      client,
      head,
      deps.upstream,
      abort.signal,
    );
    client.off('close', onClose);
    trace.latencyMs = forwardStarted - trace.started + result.headersMs;
    deps.observe?.upstream(trace.request!.verb, result.headersMs / 1000);
    await result.closed;
    record(deps, trace, 'forwarded', result.status, null);
  } catch (err) {
    client.off('close', onClose);
    logFailure(deps, trace, err);
    const status = writeStatusToSocket(client, err, trace.requestId);
    record(deps, trace, 'refused', status, err);
  } finally {
    if (streaming) deps.observe?.stream('upgrade', -1);
  }
}

/** Upgrade requests carry no body; one that declares one is refused rather than half-forwarded. */
function refuseUpgradeBody(req: IncomingMessage): null {
  const length = req.headers['content-length'];
  if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) {
    throw new KubegateError(
      'KG_REQUEST_NONCANONICAL',
      'kubegate refused an upgrade request with a body: exec, attach and port-forward requests carry none.',
    );
  }
  return null;
}
