import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import type { KubeRequest, KubeRequestBody } from '../request/types.js';
import { ANY, compilePolicy } from './compile.js';
import type { CompiledPolicy } from './compile.js';
import type { Decision } from './decision.js';
import { evaluate, needsObject } from './evaluate.js';
import type { TargetObject } from './evaluate.js';
import { PolicySchema } from './schema.js';

type RuleInput = Record<string, unknown>;

function policyOf(rules: readonly RuleInput[], defaults: RuleInput = { action: 'deny' }): CompiledPolicy {
  const doc = PolicySchema.parse({ apiVersion: 'kubegate.dev/v1alpha1', kind: 'Policy', defaults, rules });
  return compilePolicy(doc, { file: 'test.yaml' });
}

const BASE: KubeRequest = {
  method: 'GET',
  path: '/api/v1/namespaces/default/pods',
  rawQuery: '',
  isResourceRequest: true,
  verb: 'list',
  apiPrefix: 'api',
  apiGroup: '',
  apiVersion: 'v1',
  namespace: 'default',
  resource: 'pods',
  subresource: '',
  name: '',
  parts: ['pods'],
  query: {},
  labelSelector: '',
  fieldSelector: '',
  contentType: '',
  upgrade: null,
  kubectlCommand: '',
  kubectlSession: '',
};

interface Input {
  readonly request?: Partial<KubeRequest>;
  readonly body?: Partial<KubeRequestBody>;
  readonly user?: string;
  readonly groups?: readonly string[];
  readonly object?: TargetObject;
  readonly now?: Date;
}

interface Want {
  readonly kind: Decision['kind'];
  readonly rules?: readonly string[];
  readonly failedClosed?: readonly string[];
  readonly approvalRules?: readonly (string | null)[];
  readonly message?: string;
}

interface Row {
  readonly name: string;
  readonly rules: readonly RuleInput[];
  readonly defaults?: RuleInput;
  readonly input: Input;
  readonly want: Want;
}

function run(policy: CompiledPolicy, input: Input): Decision {
  const request = { ...BASE, ...input.request };
  const body: KubeRequestBody | null =
    input.body === undefined
      ? null
      : { digest: '', size: 0, object: null, deleteOptions: null, ...input.body };
  return evaluate(policy, {
    request,
    body,
    identity: { user: input.user ?? 'alice', groups: input.groups ?? ['dev'] },
    object: input.object === undefined ? null : input.object,
    now: input.now ?? new Date('2026-01-05T10:00:00Z'),
  });
}

function check(decision: Decision, want: Want): void {
  assert.equal(decision.kind, want.kind);
  if (want.rules !== undefined)
    assert.deepEqual(
      decision.rules.map((r) => r.name),
      want.rules,
    );
  if (want.failedClosed !== undefined) {
    assert.deepEqual(
      decision.rules.filter((r) => r.failedClosed !== undefined).map((r) => r.name),
      want.failedClosed,
    );
  }
  if (want.approvalRules !== undefined) {
    assert.equal(decision.kind, 'approve');
    if (decision.kind === 'approve')
      assert.deepEqual(
        decision.approval.map((a) => a.rule),
        want.approvalRules,
      );
  }
  if (want.message !== undefined) assert.equal(decision.message, want.message);
}

const allow = (name: string, match: RuleInput, extra: RuleInput = {}): RuleInput => ({
  name,
  match,
  action: 'allow',
  ...extra,
});
const deny = (name: string, match: RuleInput, extra: RuleInput = {}): RuleInput => ({
  name,
  match,
  action: 'deny',
  ...extra,
});
const approve = (name: string, match: RuleInput, extra: RuleInput = {}): RuleInput => ({
  name,
  match,
  action: 'approve',
  approval: { approvers: ['group:sre'] },
  ...extra,
});

const podExec: Partial<KubeRequest> = {
  method: 'POST',
  verb: 'create',
  resource: 'pods',
  subresource: 'exec',
  name: 'web-1',
  query: { command: ['rm', '-rf', '/data'], container: ['app'] },
};

// Protobuf request bodies as kubectl ≥ 1.32 sends them for `create configmap|namespace|…`: the
// `k8s\0` magic, then runtime.Unknown { typeMeta {apiVersion, kind}, raw, contentEncoding,
// contentType }, raw starting with ObjectMeta { 1 name, 11 labels }. One-byte lengths only.
function ld(field: number, ...parts: (Buffer | string)[]): Buffer {
  const payload = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
  assert.ok(payload.length < 0x80);
  return Buffer.concat([Buffer.from([(field << 3) | 2, payload.length]), payload]);
}

function protobufBody(kind: string, name: string, labels: Record<string, string> = {}): Buffer {
  const entries = Object.entries(labels).map(([k, v]) => ld(11, ld(1, k), ld(2, v)));
  const raw = Buffer.concat([ld(1, ld(1, name), ...entries), ld(2, ld(1, 'k'), ld(2, 'v'))]);
  return Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    ld(1, ld(1, 'v1'), ld(2, kind)),
    ld(2, raw),
    ld(3),
    ld(4),
  ]);
}

/** A create through the real parser and withBody, as the gateway sees it. */
function protobufCreate(target: string, body: Buffer): Input {
  const request = parseRequest({
    method: 'POST',
    target,
    headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
  });
  return { request, body: withBody(request, body) };
}

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
const configMapCreate = (name: string, labels: Record<string, string> = {}): Input =>
  protobufCreate(CONFIGMAPS, protobufBody('ConfigMap', name, labels));
/** Cut off inside raw: a body that cannot be read, whose name and labels are unknown. */
const unreadableCreate: Input = protobufCreate(
  CONFIGMAPS,
  protobufBody('ConfigMap', 'prod-x').subarray(0, 30),
);
const noProdConfigMaps = { verbs: ['create'], resources: ['configmaps'], names: ['prod-*'] };

const rows: readonly Row[] = [
  // verbs
  {
    name: 'a rule listing the request verb matches',
    rules: [allow('reads', { verbs: ['get', 'list'] })],
    input: {},
    want: { kind: 'allow', rules: ['reads'] },
  },
  {
    name: 'a rule listing other verbs does not match and the defaults decide',
    rules: [allow('writes', { verbs: ['create'] })],
    input: {},
    want: { kind: 'deny', rules: [], message: 'No kubegate policy rule allows this request.' },
  },
  {
    name: 'a rule listing list also matches watch',
    rules: [allow('lists', { verbs: ['list'] })],
    input: { request: { verb: 'watch' } },
    want: { kind: 'allow', rules: ['lists'] },
  },
  {
    name: 'a rule listing watch also matches list',
    rules: [deny('no-watch', { verbs: ['watch'] })],
    defaults: { action: 'allow' },
    input: { request: { verb: 'list' } },
    want: { kind: 'deny', rules: ['no-watch'] },
  },
  {
    name: 'the verb wildcard matches any verb',
    rules: [allow('all', { verbs: ['*'] })],
    input: { request: { verb: 'deletecollection' } },
    want: { kind: 'allow', rules: ['all'] },
  },
  // resources
  {
    name: 'a plain resource does not match its subresources',
    rules: [allow('pods', { resources: ['pods'] })],
    input: { request: { verb: 'get', name: 'p', subresource: 'log' } },
    want: { kind: 'deny', rules: [] },
  },
  {
    name: 'a resource with a subresource matches that subresource',
    rules: [allow('logs', { resources: ['pods/log'] })],
    input: { request: { verb: 'get', name: 'p', subresource: 'log' } },
    want: { kind: 'allow', rules: ['logs'] },
  },
  {
    name: 'the resource wildcard matches subresources too',
    rules: [allow('everything', { resources: ['*'] })],
    input: { request: { verb: 'get', name: 'p', subresource: 'log' } },
    want: { kind: 'allow', rules: ['everything'] },
  },
  {
    name: 'the resource wildcard does not match non-resource requests',
    rules: [allow('everything', { resources: ['*'] })],
    input: { request: { isResourceRequest: false, verb: 'get', resource: '', path: '/version' } },
    want: { kind: 'deny', rules: [] },
  },
  {
    name: 'a rule without resources matches non-resource requests such as discovery',
    rules: [allow('reads', { verbs: ['get'] })],
    input: { request: { isResourceRequest: false, verb: 'get', resource: '', path: '/apis' } },
    want: { kind: 'allow', rules: ['reads'] },
  },
  {
    name: 'star slash status matches the status subresource of any resource',
    rules: [deny('status', { resources: ['*/status'] })],
    input: { request: { verb: 'update', resource: 'deployments', subresource: 'status', name: 'd' } },
    want: { kind: 'deny', rules: ['status'] },
  },
  {
    name: 'deployments slash star matches any subresource of deployments',
    rules: [deny('deploy-subs', { resources: ['deployments/*'] })],
    input: { request: { verb: 'patch', resource: 'deployments', subresource: 'scale', name: 'd' } },
    want: { kind: 'deny', rules: ['deploy-subs'] },
  },
  {
    name: 'deployments slash star does not match deployments itself',
    rules: [deny('deploy-subs', { resources: ['deployments/*'] })],
    defaults: { action: 'allow' },
    input: { request: { verb: 'patch', resource: 'deployments', name: 'd' } },
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'the exec-capable alias matches nodes/proxy',
    rules: [approve('exec-like', { resources: ['@exec-capable'] })],
    input: { request: { verb: 'get', resource: 'nodes', subresource: 'proxy', name: 'n1', namespace: '' } },
    want: { kind: 'approve', rules: ['exec-like'] },
  },
  {
    name: 'the exec-capable alias matches the legacy proxy verb on nodes',
    rules: [approve('exec-like', { resources: ['@exec-capable'] })],
    input: { request: { verb: 'proxy', resource: 'nodes', subresource: '', name: 'n1', namespace: '' } },
    want: { kind: 'approve', rules: ['exec-like'] },
  },
  {
    name: 'the exec-capable alias matches pod attach',
    rules: [approve('exec-like', { resources: ['@exec-capable'] })],
    input: { request: { ...podExec, subresource: 'attach', query: {} } },
    want: { kind: 'approve', rules: ['exec-like'] },
  },
  {
    name: 'the exec-capable alias matches adding an ephemeral container, as kubectl debug does',
    rules: [approve('exec-like', { resources: ['@exec-capable'] })],
    input: { request: { method: 'PATCH', verb: 'patch', subresource: 'ephemeralcontainers', name: 'p' } },
    want: { kind: 'approve', rules: ['exec-like'] },
  },
  {
    name: 'a WebSocket exec reported as get is still read as create',
    rules: [
      deny('no-exec', { verbs: ['create'], resources: ['pods/exec'] }),
      allow('reads', { verbs: ['get'] }),
    ],
    input: { request: { ...podExec, method: 'GET', verb: 'get', upgrade: 'websocket' } },
    want: { kind: 'deny', rules: ['no-exec'] },
  },
  // apiGroups
  {
    name: 'the core group is the empty string',
    rules: [allow('core', { apiGroups: [''] })],
    input: {},
    want: { kind: 'allow', rules: ['core'] },
  },
  {
    name: 'an apiGroups glob matches a group',
    rules: [allow('k8s-io', { apiGroups: ['*.k8s.io'] })],
    input: { request: { apiGroup: 'rbac.authorization.k8s.io', resource: 'roles' } },
    want: { kind: 'allow', rules: ['k8s-io'] },
  },
  {
    name: 'an apiGroups entry does not match another group',
    rules: [allow('apps', { apiGroups: ['apps'] })],
    input: {},
    want: { kind: 'deny', rules: [] },
  },
  // namespaces and names: globs and regular expressions
  {
    name: 'a namespace prefix glob matches',
    rules: [deny('prod', { namespaces: ['prod*'] })],
    input: { request: { namespace: 'prod-eu' } },
    want: { kind: 'deny', rules: ['prod'] },
  },
  {
    name: 'a namespace prefix glob does not match in the middle',
    rules: [deny('prod', { namespaces: ['prod*'] })],
    defaults: { action: 'allow' },
    input: { request: { namespace: 'not-prod' } },
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'a question mark matches exactly one character',
    rules: [deny('team', { namespaces: ['team-?'] })],
    defaults: { action: 'allow' },
    input: { request: { namespace: 'team-ab' } },
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'a glob with an inner star matches',
    rules: [deny('mid', { namespaces: ['team-*-prod'] })],
    input: { request: { namespace: 'team-payments-prod' } },
    want: { kind: 'deny', rules: ['mid'] },
  },
  {
    name: 'a regular expression must match the whole namespace',
    rules: [deny('re', { namespaces: ['re:prod'] })],
    defaults: { action: 'allow' },
    input: { request: { namespace: 'not-prod-at-all' } },
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'a regular expression with alternatives is anchored as a whole',
    rules: [deny('re', { namespaces: ['re:prod|staging'] })],
    defaults: { action: 'allow' },
    input: { request: { namespace: 'prod-x' } },
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'a regular expression matching the namespace matches',
    rules: [deny('re', { namespaces: ['re:prod-(eu|us)-[0-9]+'] })],
    input: { request: { namespace: 'prod-eu-12' } },
    want: { kind: 'deny', rules: ['re'] },
  },
  {
    name: 'the empty namespace pattern matches cluster-scoped requests',
    rules: [deny('cluster', { namespaces: [''] })],
    input: { request: { namespace: '', resource: 'nodes' } },
    want: { kind: 'deny', rules: ['cluster'] },
  },
  {
    name: 'a namespace rule does not match cluster-scoped requests',
    rules: [allow('ns', { namespaces: ['default'] })],
    input: { request: { namespace: '', resource: 'nodes' } },
    want: { kind: 'deny', rules: [] },
  },
  {
    name: 'a names glob matches the object name',
    rules: [deny('kube', { names: ['kube-*'] })],
    input: { request: { verb: 'delete', name: 'kube-proxy' } },
    want: { kind: 'deny', rules: ['kube'] },
  },
  {
    name: 'a names rule matches a create by the name in its body',
    rules: [deny('kube', { names: ['kube-*'] })],
    defaults: { action: 'allow' },
    input: {
      request: { method: 'POST', verb: 'create' },
      body: { object: { metadata: { name: 'kube-evil' } } },
    },
    want: { kind: 'deny', rules: ['kube'] },
  },
  {
    name: 'a deny rule on names matches a list, failing closed: the list may hold any name',
    rules: [deny('kube', { names: ['kube-*'] })],
    defaults: { action: 'allow' },
    input: {},
    want: { kind: 'deny', rules: ['kube'], failedClosed: ['kube'] },
  },
  // subjects
  {
    name: 'a subjects rule matches a listed user',
    rules: [allow('alice', { subjects: { users: ['alice'] } })],
    input: { user: 'alice' },
    want: { kind: 'allow', rules: ['alice'] },
  },
  {
    name: 'a subjects rule matches a member of a listed group',
    rules: [allow('sre', { subjects: { groups: ['sre'] } })],
    input: { user: 'bob', groups: ['dev', 'sre'] },
    want: { kind: 'allow', rules: ['sre'] },
  },
  {
    name: 'users and groups in one subjects field are alternatives',
    rules: [allow('either', { subjects: { users: ['carol'], groups: ['sre'] } })],
    input: { user: 'carol', groups: [] },
    want: { kind: 'allow', rules: ['either'] },
  },
  {
    name: 'a subjects glob matches service accounts of a namespace',
    rules: [deny('ci', { subjects: { users: ['system:serviceaccount:ci:*'] } })],
    input: { user: 'system:serviceaccount:ci:deployer', groups: [] },
    want: { kind: 'deny', rules: ['ci'] },
  },
  {
    name: 'a subjects rule does not match someone else',
    rules: [allow('alice', { subjects: { users: ['alice'], groups: ['sre'] } })],
    input: { user: 'mallory', groups: ['dev'] },
    want: { kind: 'deny', rules: [] },
  },
  // the request's label selector
  {
    name: 'selector present true matches a request with a label selector',
    rules: [approve('by-selector', { verbs: ['deletecollection'], selector: { present: true } })],
    input: { request: { method: 'DELETE', verb: 'deletecollection', labelSelector: 'app=web' } },
    want: { kind: 'approve', rules: ['by-selector'] },
  },
  {
    name: 'selector present true does not match a request without one',
    rules: [approve('by-selector', { selector: { present: true } })],
    defaults: { action: 'allow' },
    input: {},
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'selector present false matches a request without a label selector',
    rules: [deny('unscoped', { verbs: ['deletecollection'], selector: { present: false } })],
    input: { request: { method: 'DELETE', verb: 'deletecollection' } },
    want: { kind: 'deny', rules: ['unscoped'] },
  },
  {
    name: 'selector requires matches the same requirement written another way',
    rules: [allow('web', { selector: { requires: ['app=web'] } })],
    input: { request: { labelSelector: 'tier=front,app in (web)' } },
    want: { kind: 'allow', rules: ['web'] },
  },
  {
    name: 'selector requires does not match a broader requirement',
    rules: [allow('web', { selector: { requires: ['app=web'] } })],
    input: { request: { labelSelector: 'app in (web,db)' } },
    want: { kind: 'deny', rules: [] },
  },
  {
    name: 'selector keys matches any requirement on the key',
    rules: [allow('scoped', { selector: { keys: ['app'] } })],
    input: { request: { labelSelector: 'app!=db' } },
    want: { kind: 'allow', rules: ['scoped'] },
  },
  {
    name: 'an unparseable label selector fails a deny rule closed',
    rules: [deny('by-selector', { selector: { present: false } })],
    defaults: { action: 'allow' },
    input: { request: { labelSelector: 'app in (' } },
    want: { kind: 'deny', rules: ['by-selector'], failedClosed: ['by-selector'] },
  },
  {
    name: 'an unparseable label selector never satisfies an allow rule',
    rules: [allow('scoped', { selector: { present: true } })],
    input: { request: { labelSelector: 'app in (' } },
    want: { kind: 'deny', rules: [] },
  },
  // field selector
  {
    name: 'fieldSelector requires matches an equal field requirement',
    rules: [allow('own-node', { fieldSelector: { requires: ['spec.nodeName=n1'] } })],
    input: { request: { fieldSelector: 'spec.nodeName==n1' } },
    want: { kind: 'allow', rules: ['own-node'] },
  },
  {
    name: 'fieldSelector present false does not match a field-scoped list',
    rules: [approve('all-pods', { fieldSelector: { present: false } })],
    defaults: { action: 'allow' },
    input: { request: { fieldSelector: 'metadata.name=x' } },
    want: { kind: 'allow', rules: [] },
  },
  // objectSelector
  {
    name: 'objectSelector matchLabels matches the live object labels',
    rules: [approve('sensitive', { objectSelector: { matchLabels: { sensitive: 'true' } } })],
    input: { request: podExec, object: { metadata: { labels: { sensitive: 'true' } } } },
    want: { kind: 'approve', rules: ['sensitive'] },
  },
  {
    name: 'objectSelector does not match an object without the label',
    rules: [approve('sensitive', { objectSelector: { matchLabels: { sensitive: 'true' } } })],
    defaults: { action: 'allow' },
    input: { request: podExec, object: { metadata: { labels: { app: 'web' } } } },
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'objectSelector NotIn matches an object without the key, as in Kubernetes',
    rules: [
      allow('not-prod', {
        objectSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] },
      }),
    ],
    input: { request: podExec, object: { metadata: {} } },
    want: { kind: 'allow', rules: ['not-prod'] },
  },
  {
    name: 'objectSelector Exists and DoesNotExist read label presence',
    rules: [
      allow('owned', {
        objectSelector: {
          matchExpressions: [
            { key: 'team', operator: 'Exists' },
            { key: 'frozen', operator: 'DoesNotExist' },
          ],
        },
      }),
    ],
    input: { request: podExec, object: { metadata: { labels: { team: 'a' } } } },
    want: { kind: 'allow', rules: ['owned'] },
  },
  {
    name: 'objectSelector on a create reads the labels in the body',
    rules: [
      deny('no-sensitive-pods', {
        verbs: ['create'],
        objectSelector: { matchLabels: { sensitive: 'true' } },
      }),
    ],
    defaults: { action: 'allow' },
    input: {
      request: { method: 'POST', verb: 'create' },
      body: { object: { metadata: { name: 'p', labels: { sensitive: 'true' } } } },
    },
    want: { kind: 'deny', rules: ['no-sensitive-pods'] },
  },
  {
    name: 'an unavailable object makes an approve rule with an objectSelector match',
    rules: [approve('sensitive', { objectSelector: { matchLabels: { sensitive: 'true' } } })],
    defaults: { action: 'allow' },
    input: { request: podExec, object: 'unavailable' },
    want: { kind: 'approve', rules: ['sensitive'], failedClosed: ['sensitive'] },
  },
  {
    name: 'an unavailable object keeps an allow rule with an objectSelector from matching',
    rules: [allow('plain-pods', { objectSelector: { matchLabels: { sensitive: 'false' } } })],
    input: { request: podExec, object: 'unavailable' },
    want: { kind: 'deny', rules: [] },
  },
  {
    name: 'an unavailable object makes an allow rule excluding by objectSelector not match',
    rules: [
      allow(
        'exec',
        { resources: ['pods/exec'] },
        { exclude: { objectSelector: { matchLabels: { sensitive: 'true' } } } },
      ),
    ],
    input: { request: podExec, object: 'unavailable' },
    want: { kind: 'deny', rules: [] },
  },
  {
    name: 'an unavailable object makes a deny rule excluding by objectSelector match',
    rules: [
      deny(
        'exec',
        { resources: ['pods/exec'] },
        { exclude: { objectSelector: { matchLabels: { safe: 'true' } } } },
      ),
    ],
    defaults: { action: 'allow' },
    input: { request: podExec, object: 'unavailable' },
    want: { kind: 'deny', rules: ['exec'], failedClosed: ['exec'] },
  },
  {
    name: 'an unavailable object does not matter when another field already rules a deny out',
    rules: [
      deny('sensitive', { namespaces: ['prod'], objectSelector: { matchLabels: { sensitive: 'true' } } }),
    ],
    defaults: { action: 'allow' },
    input: { request: podExec, object: 'unavailable' },
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'an objectSelector cannot be checked on a list, so a deny rule fails closed',
    rules: [deny('sensitive', { objectSelector: { matchLabels: { sensitive: 'true' } } })],
    defaults: { action: 'allow' },
    input: {},
    want: { kind: 'deny', rules: ['sensitive'], failedClosed: ['sensitive'] },
  },
  // bodies kubegate reads only in part (protobuf) or not at all
  {
    name: 'a deny rule on names refuses a protobuf configmap create named in its body',
    rules: [deny('no-prod', noProdConfigMaps, { message: 'No prod configmaps.' })],
    defaults: { action: 'allow' },
    input: configMapCreate('prod-x'),
    want: { kind: 'deny', rules: ['no-prod'], failedClosed: [], message: 'No prod configmaps.' },
  },
  {
    name: 'a deny rule on names lets a protobuf configmap create with another name through',
    rules: [deny('no-prod', noProdConfigMaps)],
    defaults: { action: 'allow' },
    input: configMapCreate('dev-x'),
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'an approve rule on names holds a protobuf configmap create named in its body',
    rules: [approve('prod-needs-sre', noProdConfigMaps)],
    defaults: { action: 'allow' },
    input: configMapCreate('prod-x'),
    want: { kind: 'approve', rules: ['prod-needs-sre'], failedClosed: [] },
  },
  {
    name: 'a literal name rule finds a protobuf create through the name index',
    rules: [deny('exact', { verbs: ['create'], names: ['prod-x'] })],
    defaults: { action: 'allow' },
    input: configMapCreate('prod-x'),
    want: { kind: 'deny', rules: ['exact'], failedClosed: [] },
  },
  {
    name: 'an objectSelector reads the labels of a protobuf namespace create',
    rules: [
      deny('no-prod-ns', {
        verbs: ['create'],
        resources: ['namespaces'],
        objectSelector: { matchLabels: { env: 'prod' } },
      }),
    ],
    defaults: { action: 'allow' },
    input: protobufCreate('/api/v1/namespaces', protobufBody('Namespace', 'shop', { env: 'prod' })),
    want: { kind: 'deny', rules: ['no-prod-ns'], failedClosed: [] },
  },
  {
    name: 'an objectSelector does not match a protobuf create without the label',
    rules: [
      deny('no-prod-ns', {
        verbs: ['create'],
        resources: ['namespaces'],
        objectSelector: { matchLabels: { env: 'prod' } },
      }),
    ],
    defaults: { action: 'allow' },
    input: protobufCreate('/api/v1/namespaces', protobufBody('Namespace', 'shop', { env: 'dev' })),
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'an allow rule on names matches a protobuf create by its body name',
    rules: [allow('dev-ok', { verbs: ['create'], names: ['dev-*'] })],
    input: configMapCreate('dev-x'),
    want: { kind: 'allow', rules: ['dev-ok'] },
  },
  {
    name: 'CEL on body is unknown when only the metadata of a protobuf body is known, failing closed',
    rules: [
      deny('metadata-only', {
        when: 'request.objectSource == "protobuf-metadata" && body.metadata.name == "prod-x" && !has(body.data)',
      }),
    ],
    defaults: { action: 'allow' },
    input: configMapCreate('prod-x'),
    want: { kind: 'deny', rules: ['metadata-only'], failedClosed: ['metadata-only'] },
  },
  {
    name: 'an unreadable create body makes a deny rule on names match, failing closed',
    rules: [deny('no-prod', noProdConfigMaps)],
    defaults: { action: 'allow' },
    input: unreadableCreate,
    want: { kind: 'deny', rules: ['no-prod'], failedClosed: ['no-prod'] },
  },
  {
    name: 'an unreadable create body makes an approve rule on names match, failing closed',
    rules: [approve('prod-needs-sre', noProdConfigMaps)],
    defaults: { action: 'allow' },
    input: unreadableCreate,
    want: { kind: 'approve', rules: ['prod-needs-sre'], failedClosed: ['prod-needs-sre'] },
  },
  {
    name: 'an unreadable create body keeps an allow rule on names from matching',
    rules: [allow('dev-ok', { verbs: ['create'], names: ['dev-*'] })],
    input: unreadableCreate,
    want: { kind: 'deny', rules: [] },
  },
  {
    name: 'an unreadable create body reaches a literal name rule the index files by name',
    rules: [deny('exact', { verbs: ['create'], names: ['prod-x'] })],
    defaults: { action: 'allow' },
    input: unreadableCreate,
    want: { kind: 'deny', rules: ['exact'], failedClosed: ['exact'] },
  },
  {
    name: 'an unreadable create body makes a deny rule with an objectSelector fail closed',
    rules: [deny('no-prod-labels', { verbs: ['create'], objectSelector: { matchLabels: { env: 'prod' } } })],
    defaults: { action: 'allow' },
    input: unreadableCreate,
    want: { kind: 'deny', rules: ['no-prod-labels'], failedClosed: ['no-prod-labels'] },
  },
  {
    name: 'an unreadable create body makes a deny rule excluding by name match, failing closed',
    rules: [deny('creates', { verbs: ['create'] }, { exclude: { names: ['safe-*'] } })],
    defaults: { action: 'allow' },
    input: unreadableCreate,
    want: { kind: 'deny', rules: ['creates'], failedClosed: ['creates'] },
  },
  {
    name: 'an unreadable create body does not matter when another field already rules a deny out',
    rules: [deny('no-prod', { ...noProdConfigMaps, namespaces: ['prod'] })],
    defaults: { action: 'allow' },
    input: unreadableCreate,
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'a create with an empty body has no name, which is not unknown',
    rules: [deny('no-prod', noProdConfigMaps)],
    defaults: { action: 'allow' },
    input: { request: { method: 'POST', verb: 'create', resource: 'configmaps' }, body: { size: 0 } },
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'an unreadable body of a subresource create leaves the path name in charge',
    rules: [deny('no-prod', { verbs: ['create'], names: ['prod-*'] })],
    defaults: { action: 'allow' },
    input: {
      request: {
        method: 'POST',
        verb: 'create',
        resource: 'serviceaccounts',
        subresource: 'token',
        name: 'ci',
      },
      body: { size: 30, object: null },
    },
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'an unreadable apply body for a missing object leaves its labels unknown',
    rules: [deny('no-prod-labels', { verbs: ['patch'], objectSelector: { matchLabels: { env: 'prod' } } })],
    defaults: { action: 'allow' },
    input: {
      request: {
        method: 'PATCH',
        verb: 'patch',
        resource: 'configmaps',
        name: 'x',
        contentType: 'application/apply-patch+cbor',
      },
      body: { size: 30, object: null },
      object: null,
    },
    want: { kind: 'deny', rules: ['no-prod-labels'], failedClosed: ['no-prod-labels'] },
  },
  {
    name: 'an empty body for a missing object has no labels, which is not unknown',
    rules: [deny('no-prod-labels', { verbs: ['patch'], objectSelector: { matchLabels: { env: 'prod' } } })],
    defaults: { action: 'allow' },
    input: { request: { method: 'PATCH', verb: 'patch', resource: 'configmaps', name: 'x' }, object: null },
    want: { kind: 'allow', rules: [] },
  },
  // query
  {
    name: 'a query condition matches an exact value',
    rules: [allow('dry-run', { query: { dryRun: 'All' } })],
    input: { request: { method: 'POST', verb: 'create', query: { dryRun: ['All'] } } },
    want: { kind: 'allow', rules: ['dry-run'] },
  },
  {
    name: 'a query condition reads the first value only, as the API server does',
    rules: [allow('no-force', { query: { force: 'false' } })],
    input: { request: { method: 'PATCH', verb: 'patch', name: 'x', query: { force: ['true', 'false'] } } },
    want: { kind: 'deny', rules: [] },
  },
  {
    name: 'a query present false matches when the parameter is absent',
    rules: [approve('real-change', { query: { dryRun: { present: false } } })],
    input: { request: { method: 'POST', verb: 'create' } },
    want: { kind: 'approve', rules: ['real-change'] },
  },
  {
    name: 'a query list of values matches any of them',
    rules: [deny('orphans', { query: { propagationPolicy: ['Orphan', 'Foreground'] } })],
    defaults: { action: 'allow' },
    input: {
      request: { method: 'DELETE', verb: 'delete', name: 'x' },
      body: {
        deleteOptions: {
          dryRun: [],
          gracePeriodSeconds: null,
          propagationPolicy: 'Orphan',
          orphanDependents: null,
        },
      },
    },
    want: { kind: 'deny', rules: ['orphans'] },
  },
  {
    name: 'delete options from the body count as query parameters',
    rules: [deny('force-delete', { verbs: ['delete'], query: { gracePeriodSeconds: 0 } })],
    defaults: { action: 'allow' },
    input: {
      request: { method: 'DELETE', verb: 'delete', name: 'x', query: { gracePeriodSeconds: ['30'] } },
      body: {
        deleteOptions: {
          dryRun: [],
          gracePeriodSeconds: 0,
          propagationPolicy: 'Background',
          orphanDependents: null,
        },
      },
    },
    want: { kind: 'deny', rules: ['force-delete'] },
  },
  {
    name: 'a dry-run delete is recognised from its body options',
    rules: [allow('dry-runs', { query: { dryRun: { present: true } } })],
    input: {
      request: { method: 'DELETE', verb: 'delete', name: 'x' },
      body: {
        deleteOptions: {
          dryRun: ['All'],
          gracePeriodSeconds: null,
          propagationPolicy: null,
          orphanDependents: null,
        },
      },
    },
    want: { kind: 'allow', rules: ['dry-runs'] },
  },
  {
    name: 'the exec command is matched joined with spaces',
    rules: [deny('rm', { resources: ['pods/exec'], query: { command: 'rm -rf *' } })],
    defaults: { action: 'allow' },
    input: { request: podExec },
    want: { kind: 'deny', rules: ['rm'] },
  },
  {
    name: 'argv0 matches the first word of the exec command',
    rules: [deny('shells', { resources: ['pods/exec'], query: { argv0: ['sh', 'bash', '*/sh', '*/bash'] } })],
    defaults: { action: 'allow' },
    input: { request: { ...podExec, query: { command: ['/bin/bash', '-c', 'id'] } } },
    want: { kind: 'deny', rules: ['shells'] },
  },
  {
    name: 'the exec container is an ordinary query parameter',
    rules: [allow('debug-container', { resources: ['pods/exec'], query: { container: 'debug' } })],
    input: { request: podExec },
    want: { kind: 'deny', rules: [] },
  },
  // when (CEL)
  {
    name: 'a CEL condition reads the request',
    rules: [deny('cel', { when: 'request.namespace.startsWith("prod") && request.verb == "list"' })],
    input: { request: { namespace: 'prod-1' } },
    want: { kind: 'deny', rules: ['cel'] },
  },
  {
    name: 'a CEL condition reads the user and groups',
    rules: [allow('cel', { when: 'user.name == "alice" && "dev" in user.groups' })],
    input: {},
    want: { kind: 'allow', rules: ['cel'] },
  },
  {
    name: 'a CEL condition reads now, given by the caller',
    rules: [deny('weekend', { when: 'now.getDayOfWeek("UTC") == 0 || now.getDayOfWeek("UTC") == 6' })],
    defaults: { action: 'allow' },
    input: { now: new Date('2026-01-04T10:00:00Z') },
    want: { kind: 'deny', rules: ['weekend'] },
  },
  {
    name: 'a CEL condition reads the body',
    rules: [approve('big', { verbs: ['patch'], when: 'has(body.spec) && body.spec.replicas > 10' })],
    defaults: { action: 'allow' },
    input: {
      request: { method: 'PATCH', verb: 'patch', name: 'd' },
      body: { object: { spec: { replicas: 50 } } },
    },
    want: { kind: 'approve', rules: ['big'] },
  },
  {
    name: 'a CEL condition reads the live object',
    rules: [deny('owned', { when: 'object.?metadata.?labels[?"owner"].orValue("") != user.name' })],
    defaults: { action: 'allow' },
    input: { request: podExec, object: { metadata: { labels: { owner: 'bob' } } } },
    want: { kind: 'deny', rules: ['owned'] },
  },
  {
    name: 'a CEL condition that is false does not match',
    rules: [deny('cel', { when: 'request.namespace == "kube-system"' })],
    defaults: { action: 'allow' },
    input: {},
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'a CEL runtime error makes a deny rule match, closed',
    rules: [deny('cel', { when: 'body.spec.replicas > 3' })],
    defaults: { action: 'allow' },
    input: {},
    want: { kind: 'deny', rules: ['cel'], failedClosed: ['cel'] },
  },
  {
    name: 'a CEL runtime error keeps an allow rule from matching',
    rules: [allow('cel', { when: 'body.spec.replicas > 3' })],
    input: {},
    want: { kind: 'deny', rules: [] },
  },
  {
    name: 'a CEL condition on an unavailable object fails an approve rule closed',
    rules: [approve('cel', { when: 'object.metadata.name == "x"' })],
    defaults: { action: 'allow' },
    input: { request: podExec, object: 'unavailable' },
    want: { kind: 'approve', rules: ['cel'], failedClosed: ['cel'] },
  },
  // exclude
  {
    name: 'exclude stops a rule when all its fields match',
    rules: [allow('reads', { verbs: ['get', 'list'] }, { exclude: { resources: ['secrets'] } })],
    input: { request: { resource: 'secrets' } },
    want: { kind: 'deny', rules: [] },
  },
  {
    name: 'exclude does not stop a rule when one of its fields does not match',
    rules: [
      allow(
        'reads',
        { verbs: ['get', 'list'] },
        { exclude: { resources: ['secrets'], namespaces: ['kube-system'] } },
      ),
    ],
    input: { request: { resource: 'secrets' } },
    want: { kind: 'allow', rules: ['reads'] },
  },
  {
    name: 'exclude by subject exempts a break-glass user',
    rules: [deny('prod', { namespaces: ['prod'] }, { exclude: { subjects: { users: ['oncall'] } } })],
    defaults: { action: 'allow' },
    input: { request: { namespace: 'prod' }, user: 'oncall' },
    want: { kind: 'allow', rules: [] },
  },
  // strictest wins, approvals add up, defaults
  {
    name: 'deny wins over allow whatever the order',
    rules: [allow('first', {}), deny('second', { namespaces: ['default'] })],
    input: {},
    want: { kind: 'deny', rules: ['first', 'second'] },
  },
  {
    name: 'deny wins over approve',
    rules: [approve('ask', {}), deny('no', {}, { message: 'Not here.' })],
    input: {},
    want: { kind: 'deny', rules: ['ask', 'no'], message: 'Not here.' },
  },
  {
    name: 'approve wins over allow',
    rules: [allow('yes', {}), approve('ask', { resources: ['pods'] })],
    input: {},
    want: { kind: 'approve', rules: ['yes', 'ask'], approvalRules: ['ask'] },
  },
  {
    name: 'several approve rules add up their requirements',
    rules: [
      approve('sre', { resources: ['pods'] }, { approval: { approvers: ['group:sre'], count: 2 } }),
      allow('reads', { verbs: ['list'] }),
      approve('security', { namespaces: ['default'] }, { approval: { approvers: ['group:security'] } }),
    ],
    input: {},
    want: { kind: 'approve', rules: ['sre', 'reads', 'security'], approvalRules: ['sre', 'security'] },
  },
  {
    name: 'several deny messages are joined',
    rules: [deny('a', {}, { message: 'First.' }), deny('b', {})],
    input: {},
    want: { kind: 'deny', message: 'First. Denied by kubegate policy rule "b".' },
  },
  {
    name: 'the defaults approve with their own requirement when no rule matches',
    rules: [allow('other', { namespaces: ['elsewhere'] })],
    defaults: { action: 'approve', approval: { approvers: ['group:sre'] } },
    input: {},
    want: { kind: 'approve', rules: [], approvalRules: [null] },
  },
  {
    name: 'the defaults allow when no rule matches',
    rules: [deny('other', { namespaces: ['elsewhere'] })],
    defaults: { action: 'allow' },
    input: {},
    want: { kind: 'allow', rules: [] },
  },
  {
    name: 'the defaults deny with their message when no rule matches',
    rules: [],
    defaults: { action: 'deny', message: 'Ask in #platform.' },
    input: {},
    want: { kind: 'deny', rules: [], message: 'Ask in #platform.' },
  },
  {
    name: 'an empty match matches every request',
    rules: [approve('everything', {})],
    defaults: { action: 'allow' },
    input: { request: { isResourceRequest: false, verb: 'get', resource: '', path: '/healthz' } },
    want: { kind: 'approve', rules: ['everything'] },
  },
];

for (const row of rows) {
  test(row.name, () => {
    check(run(policyOf(row.rules, row.defaults), row.input), row.want);
  });
}

// Transports, through the real parser: kubectl ≥1.30 sends exec as a WebSocket GET and retries
// as a SPDY POST; both must meet the same rules.
const transportPolicy = policyOf(
  [
    allow('reads', { verbs: ['get', 'list', 'watch'] }),
    approve('exec', { verbs: ['create'], resources: ['pods/exec', 'pods/attach', 'pods/portforward'] }),
  ],
  { action: 'deny' },
);

const transports: readonly {
  name: string;
  method: string;
  target: string;
  headers: Record<string, string>;
}[] = [
  {
    name: 'a WebSocket exec meets the exec rule and not the read rule',
    method: 'GET',
    target: '/api/v1/namespaces/d/pods/p/exec?command=ls&container=c&stdout=true',
    headers: { upgrade: 'websocket', connection: 'Upgrade' },
  },
  {
    name: 'a SPDY exec meets the exec rule',
    method: 'POST',
    target: '/api/v1/namespaces/d/pods/p/exec?command=ls&container=c&stdout=true',
    headers: { upgrade: 'SPDY/3.1', connection: 'Upgrade' },
  },
  {
    name: 'a WebSocket port-forward meets the exec rule',
    method: 'GET',
    target: '/api/v1/namespaces/d/pods/p/portforward',
    headers: { upgrade: 'websocket', connection: 'Upgrade' },
  },
  {
    name: 'a SPDY attach meets the exec rule',
    method: 'POST',
    target: '/api/v1/namespaces/d/pods/p/attach?container=c&stdout=true',
    headers: { upgrade: 'SPDY/3.1', connection: 'Upgrade' },
  },
];

for (const t of transports) {
  test(t.name, () => {
    const request = parseRequest({ method: t.method, target: t.target, headers: t.headers });
    const decision = evaluate(transportPolicy, {
      request,
      body: null,
      identity: { user: 'alice', groups: [] },
      object: null,
      now: new Date(0),
    });
    check(decision, { kind: 'approve', rules: ['exec'] });
  });
}

// Enrichment: the gateway fetches the live object only when a rule that could match needs it.
const enrichPolicy = policyOf([
  allow('reads', { verbs: ['get', 'list', 'watch'] }),
  approve('sensitive-exec', {
    resources: ['pods/exec'],
    objectSelector: { matchLabels: { sensitive: 'true' } },
  }),
  deny('owned-deletes', { verbs: ['delete'], namespaces: ['team-*'], when: 'object.metadata.name == "x"' }),
  deny('sensitive-creates', {
    verbs: ['create'],
    resources: ['pods'],
    objectSelector: { matchLabels: { a: 'b' } },
  }),
]);

const enrichRows: readonly { name: string; input: Partial<KubeRequest>; want: boolean }[] = [
  { name: 'an exec needs the pod when an exec rule has an objectSelector', input: podExec, want: true },
  { name: 'a list never needs an object', input: {}, want: false },
  {
    name: 'a delete needs the object when a matching rule reads object in CEL',
    input: { method: 'DELETE', verb: 'delete', name: 'x', namespace: 'team-a' },
    want: true,
  },
  {
    name: 'a delete does not need the object when the CEL rule is for other namespaces',
    input: { method: 'DELETE', verb: 'delete', name: 'x', namespace: 'default' },
    want: false,
  },
  {
    name: 'a create never needs a live object, its labels are in the body',
    input: { method: 'POST', verb: 'create' },
    want: false,
  },
];

for (const row of enrichRows) {
  test(row.name, () => {
    const input = { request: { ...BASE, ...row.input }, body: null, identity: { user: 'alice', groups: [] } };
    assert.equal(needsObject(enrichPolicy, input), row.want);
  });
}

// The index only narrows candidates; it must never change a decision. Compare with the same
// policy whose every rule sits in one bucket that every lookup scans, over generated rules that
// use each indexable shape (literal, prefix glob, inner glob, regex with and without a literal
// prefix, wildcards) and requests drawn from the same vocabulary.
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('the index gives the same decisions as scanning every rule', () => {
  const rand = seeded(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const some = <T>(items: readonly T[]): T[] => [
    ...new Set(Array.from({ length: 1 + Math.floor(rand() * 2) }, () => pick(items))),
  ];
  const namespaces = ['prod', 'prod-eu', 'staging', 'team-a-dev', 'team-b-prod', ''];
  const nsPatterns = [
    'prod',
    'prod*',
    'team-*-prod',
    're:prod-(eu|us)',
    're:team-a-.*',
    're:staging|prod',
    '*',
    '',
    'team-?-dev',
  ];
  const names = ['web', 'web-1', 'db', 'kube-proxy', ''];
  const namePatterns = ['web', 'web-*', 're:db', 'kube-*', '*'];
  const users = ['alice', 'bob', 'system:serviceaccount:ci:deployer'];
  const groups = ['dev', 'sre', 'system:authenticated'];
  const verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'proxy'];
  const resources = [
    'pods',
    'pods/exec',
    'pods/log',
    'deployments',
    'deployments/scale',
    'nodes/proxy',
    'secrets',
  ];
  const resourcePatterns = [...resources, '*', '*/status', 'deployments/*', '*/*', '@exec-capable'];
  const rules: RuleInput[] = [];
  for (let i = 0; i < 400; i++) {
    const match: Record<string, unknown> = {};
    if (rand() < 0.6) match.verbs = some([...verbs, '*']);
    if (rand() < 0.7) match.resources = some(resourcePatterns);
    if (rand() < 0.6) match.namespaces = some(nsPatterns);
    if (rand() < 0.3) match.names = some(namePatterns);
    if (rand() < 0.3)
      match.subjects = rand() < 0.5 ? { users: some(users) } : { groups: some(groups), users: some(users) };
    if (rand() < 0.1) match.subjects = { users: ['system:serviceaccount:*'] };
    const action = pick(['allow', 'deny', 'approve'] as const);
    rules.push({
      name: `r${i}`,
      match,
      action,
      ...(action === 'approve' ? { approval: { approvers: ['group:sre'] } } : {}),
    });
  }
  const indexed = policyOf(rules, { action: 'deny' });
  const rest = [...indexed.rules];
  const everything = {
    byNamespace: new Map(),
    byNamespacePrefix: new Map(),
    prefixLengths: [],
    byName: new Map(),
    byUser: new Map(),
    byGroup: new Map(),
    rest,
  };
  const scanning: CompiledPolicy = { ...indexed, index: new Map([[ANY, new Map([[ANY, everything]])]]) };
  for (let i = 0; i < 3000; i++) {
    const [resource = '', subresource = ''] = pick(resources).split('/');
    const isResourceRequest = rand() < 0.95;
    const input: Input = {
      request: {
        verb: pick(verbs),
        isResourceRequest,
        resource: isResourceRequest ? resource : '',
        subresource: isResourceRequest ? subresource : '',
        namespace: pick(namespaces),
        name: pick(names),
        apiGroup: pick(['', 'apps']),
      },
      user: pick(users),
      groups: some(groups),
      // Some creates carry a body that cannot be read: their name is unknown to every rule.
      ...(rand() < 0.2 ? { body: { size: 10, object: null } } : {}),
    };
    assert.deepEqual(run(indexed, input), run(scanning, input), JSON.stringify(input));
  }
});

// Query options compared as the API server converts them (request/query-options.ts): force=1,
// force=True and force= are all force=true, tty=True and stdin= are tty and stdin, and
// gracePeriodSeconds=+0 is 0. Each spelling bypassed its rule while values were compared as text.
test('query conditions read typed options as the API server converts them', async (t) => {
  const policy = policyOf(
    [
      deny('no-forced-apply', { verbs: ['patch'], resources: ['configmaps'], query: { force: true } }),
      deny('no-tty-exec', { resources: ['pods/exec'], query: { tty: true } }),
      deny('no-stdin-attach', { resources: ['pods/attach'], query: { stdin: true } }),
      deny('no-immediate-delete', {
        verbs: ['delete'],
        resources: ['pods'],
        query: { gracePeriodSeconds: 0 },
      }),
      deny('no-big-log-tails', { resources: ['pods/log'], query: { tailLines: 're:[0-9]{4,}' } }),
      deny('no-ssh-forward', { resources: ['pods/portforward'], query: { ports: '22' } }),
    ],
    { action: 'allow' },
  );
  const decide = (method: string, target: string, body = '', contentType = 'application/json'): Decision => {
    const request = parseRequest({ method, target, headers: { 'content-type': contentType } });
    return evaluate(policy, {
      request,
      body: withBody(request, Buffer.from(body)),
      identity: { user: 'alice', groups: ['dev'] },
      object: null,
      now: new Date('2026-01-05T10:00:00Z'),
    });
  };
  const CM = '/api/v1/namespaces/default/configmaps/x?fieldManager=m';
  const POD = '/api/v1/namespaces/default/pods/web';
  const APPLY = 'application/apply-patch+yaml';
  const cases: { name: string; decision: () => Decision; want: Want }[] = [
    ...['force=true', 'force=1', 'force=True', 'force=', 'force'].map((q) => ({
      name: `an apply with ${q} is forced`,
      decision: () => decide('PATCH', `${CM}&${q}`, '{}', APPLY),
      want: { kind: 'deny' as const, rules: ['no-forced-apply'], failedClosed: [] },
    })),
    ...['force=false', 'force=0', 'force=FALSE', 'fieldManager=m'].map((q) => ({
      name: `an apply with ${q} is not forced`,
      decision: () => decide('PATCH', `${CM}&${q}`, '{}', APPLY),
      want: { kind: 'allow' as const },
    })),
    ...['GET', 'POST'].flatMap((method) =>
      ['tty=true', 'tty=True', 'tty=1', 'tty='].map((q) => ({
        name: `a ${method} exec with ${q} has a terminal`,
        decision: () => decide(method, `${POD}/exec?command=sh&${q}`),
        want: { kind: 'deny' as const, rules: ['no-tty-exec'], failedClosed: [] },
      })),
    ),
    {
      name: 'an exec with tty=0 has none',
      decision: () => decide('GET', `${POD}/exec?command=sh&tty=0`),
      want: { kind: 'allow' },
    },
    ...['stdin=', 'stdin=1', 'stdin=yes'].map((q) => ({
      name: `an attach with ${q} reads stdin`,
      decision: () => decide('POST', `${POD}/attach?${q}`),
      want: { kind: 'deny' as const, rules: ['no-stdin-attach'], failedClosed: [] },
    })),
    ...[
      'gracePeriodSeconds=0',
      'gracePeriodSeconds=%2B0',
      'gracePeriodSeconds=-0',
      'gracePeriodSeconds=00',
    ].map((q) => ({
      name: `a delete with ${q} is immediate`,
      decision: () => decide('DELETE', `${POD}?${q}`),
      want: { kind: 'deny' as const, rules: ['no-immediate-delete'], failedClosed: [] },
    })),
    {
      name: 'a delete whose body says gracePeriodSeconds 0 is immediate whatever the query says',
      decision: () => decide('DELETE', `${POD}?gracePeriodSeconds=30`, '{"gracePeriodSeconds":0}'),
      want: { kind: 'deny', rules: ['no-immediate-delete'], failedClosed: [] },
    },
    {
      name: 'tailLines=%2B01000 is 1000',
      decision: () => decide('GET', `${POD}/log?tailLines=%2B01000`),
      want: { kind: 'deny', rules: ['no-big-log-tails'], failedClosed: [] },
    },
    {
      name: 'tailLines=0100 is 100',
      decision: () => decide('GET', `${POD}/log?tailLines=0100`),
      want: { kind: 'allow' },
    },
    {
      name: 'a tailLines the API server refuses is unknown: the deny rule fails closed',
      decision: () => decide('GET', `${POD}/log?tailLines=1e3`),
      want: { kind: 'deny', rules: ['no-big-log-tails'], failedClosed: ['no-big-log-tails'] },
    },
    {
      name: 'a port-forward without ports in the query fails closed on a ports rule',
      decision: () => decide('POST', `${POD}/portforward`),
      want: { kind: 'deny', rules: ['no-ssh-forward'], failedClosed: ['no-ssh-forward'] },
    },
    {
      name: 'a port-forward naming another port still fails closed (the stream may carry 22)',
      decision: () => decide('GET', `${POD}/portforward?ports=8080`),
      want: { kind: 'deny', rules: ['no-ssh-forward'], failedClosed: ['no-ssh-forward'] },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      check(c.decision(), c.want);
    });
  }
  await t.test('a policy value a converted option could never equal is refused at load', () => {
    for (const query of [{ force: '1' }, { tty: 'True' }, { gracePeriodSeconds: '+0' }]) {
      assert.throws(
        () => policyOf([deny('r', { verbs: ['patch'], query })]),
        (err: unknown) => err instanceof Error && /write true or false|plain decimal/.test(String(err)),
      );
    }
  });
});
