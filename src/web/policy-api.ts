// The policy in force over kubegate's own API, for the web UI's policy view and simulator:
//
//   GET  /kubegate/v1/policy        → {kind: Policy, file, source, digest, loadedAt, failClosed, rules, lastError}
//   POST /kubegate/v1/policy/eval   {method, path, user?, groups?, objectLabels?, body?}
//        → {kind: PolicyEvaluation, request, decision, rules, approval, message}
//
// Any signed-in user may read both: the policy decides their own requests, and knowing why a
// request would wait or be refused before running it is the point. The simulator is evalRequest,
// the same function `kubegate policy eval` and the fixtures use, over the policy in force: it
// never does I/O, never forwards anything, and never reaches a different decision from the
// gateway for the same request, user, groups, body and target labels.
import { KubegateError } from '../errors.js';
import type { ClientRequest } from '../gateway/read-body.js';
import { sendJson } from '../gateway/respond.js';
import type { Identity } from '../identity/types.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { approvalJson, evalRequest } from '../policy/eval-request.js';
import type { TargetObject } from '../policy/evaluate.js';
import type { PolicyEvaluation, PolicyView } from './api-types.js';
import {
  API_VERSION,
  allowMethods,
  badRequest,
  onlyFields,
  printable,
  readJson,
  textField,
  type ApiResponse,
  type ApiTarget,
} from './http.js';

/** What the API needs of the policy store (policy/reload.ts's PolicyStore), or null without a policy. */
export interface PolicySource {
  current(): CompiledPolicy;
  source(): { readonly text: string; readonly digest: string } | null;
  lastError(): { readonly message: string; readonly at: Date } | null;
  stats(): { readonly lastLoadedAt: Date | null; readonly failClosed: boolean };
}

export interface PolicyApiDeps {
  readonly policy: PolicySource | null;
  readonly now: () => Date;
}

export interface PolicyApi {
  /** Answers a path whose first part is `policy`. */
  handle(req: ClientRequest, target: ApiTarget, res: ApiResponse, who: Identity): Promise<void>;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const MAX_GROUPS = 100;

export function createPolicyApi(deps: PolicyApiDeps): PolicyApi {
  return {
    async handle(req, target, res, who) {
      const method = req.method ?? '';
      const { parts } = target;
      if (parts.length === 1) {
        allowMethods(method, ['GET']);
        sendJson(res, 200, view(deps.policy));
        return;
      }
      if (parts.length === 2 && parts[1] === 'eval') {
        allowMethods(method, ['POST']);
        if (deps.policy === null) {
          throw new KubegateError(
            'KG_POLICY_NOT_CONFIGURED',
            'kubegate runs without a policy (policy.file is not set): every request RBAC allows goes through',
          );
        }
        const spec = simulation(await readJson(req), who);
        const { report } = evalRequest(deps.policy.current(), { ...spec, now: deps.now() });
        const answer: PolicyEvaluation = { kind: 'PolicyEvaluation', apiVersion: API_VERSION, ...report };
        sendJson(res, 200, answer);
        return;
      }
      throw new KubegateError('KG_API_NOT_FOUND', `no such kubegate API path: ${printable(target.path)}`);
    },
  };
}

function view(source: PolicySource | null): PolicyView {
  if (source === null) {
    return {
      kind: 'Policy',
      apiVersion: API_VERSION,
      file: null,
      source: '',
      digest: null,
      loadedAt: null,
      failClosed: false,
      rules: [],
      lastError: null,
    };
  }
  const policy = source.current();
  const text = source.source();
  const stats = source.stats();
  return {
    kind: 'Policy',
    apiVersion: API_VERSION,
    file: policy.file,
    source: text?.text ?? '',
    digest: text?.digest ?? null,
    loadedAt: stats.lastLoadedAt?.toISOString() ?? null,
    failClosed: stats.failClosed,
    rules: policy.rules.map((r) => ({
      name: r.name,
      action: r.action,
      description: r.description ?? null,
      message: r.message ?? null,
      approval: r.approval === null ? null : approvalJson(r.approval),
    })),
    lastError: source.lastError()?.message ?? null,
  };
}

interface Simulation {
  readonly method: string;
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  readonly user: string;
  readonly groups: readonly string[];
  readonly object: TargetObject;
}

/** The request to simulate; user and groups default to the caller's own. */
function simulation(body: Record<string, unknown>, who: Identity): Simulation {
  onlyFields(body, ['method', 'path', 'user', 'groups', 'objectLabels', 'body']);
  const method = (textField(body, 'method', 16) ?? '').toUpperCase();
  if (!METHODS.includes(method)) throw badRequest(`method must be one of ${METHODS.join(', ')}`);
  const path = textField(body, 'path', 8_000) ?? '';
  if (!path.startsWith('/')) throw badRequest('path must start with "/", e.g. /api/v1/namespaces/prod/pods');
  const user = textField(body, 'user', 253) ?? who.user;
  if (user.trim() === '') throw badRequest('user must not be empty');
  const groups = body.groups === undefined ? who.groups : stringList(body.groups, 'groups');
  const text = textField(body, 'body', 1024 * 1024);
  return {
    method,
    target: path,
    // The gateway reads a body by its content type; the simulator takes JSON bodies.
    headers: text === undefined ? {} : { 'content-type': 'application/json' },
    ...(text === undefined ? {} : { body: Buffer.from(text, 'utf8') }),
    user,
    groups,
    object: objectOf(body.objectLabels),
  };
}

function stringList(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_GROUPS || !value.every((v) => typeof v === 'string')) {
    throw badRequest(`${key} must be a list of at most ${MAX_GROUPS} strings`);
  }
  return value.filter((v) => v.trim() !== '');
}

/** Labels of the live target object as the gateway would find them; absent: no such object. */
function objectOf(value: unknown): TargetObject {
  if (value === undefined || value === null) return null;
  if (value === 'unavailable') return 'unavailable';
  if (
    typeof value !== 'object' ||
    Array.isArray(value) ||
    !Object.values(value as Record<string, unknown>).every((v) => typeof v === 'string')
  ) {
    throw badRequest('objectLabels must be an object of label names to string values, or "unavailable"');
  }
  return { metadata: { labels: value } };
}
