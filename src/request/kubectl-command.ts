// kubectlEquivalent: a parsed request → the kubectl command a reviewer reads for it
// ("kubectl delete deployment web -n prod", "kubectl exec -n prod web-0 -c main -- rm -rf /data").
//
// Place in the pipeline: beside parse; read by hold (the pending request a reviewer approves), the
// audit trail and notifications. Input: a KubeRequest and, when read, its KubeRequestBody.
// Output: one line of shell. It describes; it is never run, and nothing decides on it.
// Must never: print a byte of the request unquoted, or a control, format or line-separator
// character raw — a name or exec argument holding "\n", an ANSI escape or a bidi override must not
// be able to redraw what the reviewer sees. Every argument goes through shellQuote, every comment
// through commentText. Where kubectl has no equivalent, say so rather than invent one: the fallback
// is `kubectl get|create|replace|delete --raw` with the exact path and query that will be forwarded.

import type { KubeRequest, KubeRequestBody } from './types.js';

/** Longest patch or comment text shown before it is cut (the digest identifies the full body). */
export const MAX_SHOWN = 200;

/** Characters that never need quoting in a POSIX shell word. */
const SAFE_WORD = /^[A-Za-z0-9_\-./:=@%+,]+$/;
/** Control, format (bidi overrides, zero-width) and line/paragraph separator characters. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * One shell word for `arg`: bare when it is plainly safe, else in single quotes, else — when it
 * holds unprintable characters — in bash's ANSI-C quotes ($'…') with each of them escaped.
 */
export function shellQuote(arg: string): string {
  if (SAFE_WORD.test(arg)) return arg;
  if (!UNPRINTABLE.test(arg)) return `'${arg.replaceAll("'", "'\\''")}'`;
  let out = "$'";
  for (const ch of arg) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '\\' || ch === "'") out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (!UNPRINTABLE.test(ch)) out += ch;
    else if (cp < 0x100) out += '\\x' + hex(cp, 2);
    else if (cp < 0x10000) out += '\\u' + hex(cp, 4);
    else out += '\\U' + hex(cp, 8);
  }
  return out + "'";
}

/** Text after a `#`: unprintable characters escaped (a raw newline would end the comment). */
function commentText(s: string): string {
  let out = '';
  for (const ch of cut(s)) {
    const cp = ch.codePointAt(0) as number;
    out += UNPRINTABLE.test(ch) ? (cp < 0x10000 ? '\\u' + hex(cp, 4) : '\\U' + hex(cp, 8)) : ch;
  }
  return out;
}

/** At most MAX_SHOWN code points, with '…' when cut. */
function cut(s: string): string {
  const points = Array.from(s);
  return points.length > MAX_SHOWN ? points.slice(0, MAX_SHOWN).join('') + '…' : s;
}

interface KnownResource {
  readonly singular: string;
  /** The version kubectl resolves the short name to. */
  readonly version: string;
  readonly namespaced: boolean;
}

const known = (singular: string, version: string, namespaced: boolean): KnownResource => ({
  singular,
  version,
  namespaced,
});

/** Built-in resources by "group/resource": the singular kubectl users write, scope and version. */
const KNOWN: Readonly<Record<string, KnownResource>> = {
  '/pods': known('pod', 'v1', true),
  '/services': known('service', 'v1', true),
  '/configmaps': known('configmap', 'v1', true),
  '/secrets': known('secret', 'v1', true),
  '/serviceaccounts': known('serviceaccount', 'v1', true),
  '/persistentvolumeclaims': known('persistentvolumeclaim', 'v1', true),
  '/replicationcontrollers': known('replicationcontroller', 'v1', true),
  '/events': known('event', 'v1', true),
  '/endpoints': known('endpoints', 'v1', true),
  '/limitranges': known('limitrange', 'v1', true),
  '/resourcequotas': known('resourcequota', 'v1', true),
  '/podtemplates': known('podtemplate', 'v1', true),
  '/namespaces': known('namespace', 'v1', false),
  '/nodes': known('node', 'v1', false),
  '/persistentvolumes': known('persistentvolume', 'v1', false),
  'apps/deployments': known('deployment', 'v1', true),
  'apps/statefulsets': known('statefulset', 'v1', true),
  'apps/daemonsets': known('daemonset', 'v1', true),
  'apps/replicasets': known('replicaset', 'v1', true),
  'apps/controllerrevisions': known('controllerrevision', 'v1', true),
  'batch/jobs': known('job', 'v1', true),
  'batch/cronjobs': known('cronjob', 'v1', true),
  'autoscaling/horizontalpodautoscalers': known('horizontalpodautoscaler', 'v2', true),
  'policy/poddisruptionbudgets': known('poddisruptionbudget', 'v1', true),
  'networking.k8s.io/ingresses': known('ingress', 'v1', true),
  'networking.k8s.io/networkpolicies': known('networkpolicy', 'v1', true),
  'networking.k8s.io/ingressclasses': known('ingressclass', 'v1', false),
  'rbac.authorization.k8s.io/roles': known('role', 'v1', true),
  'rbac.authorization.k8s.io/rolebindings': known('rolebinding', 'v1', true),
  'rbac.authorization.k8s.io/clusterroles': known('clusterrole', 'v1', false),
  'rbac.authorization.k8s.io/clusterrolebindings': known('clusterrolebinding', 'v1', false),
  'coordination.k8s.io/leases': known('lease', 'v1', true),
  'storage.k8s.io/storageclasses': known('storageclass', 'v1', false),
  'apiextensions.k8s.io/customresourcedefinitions': known('customresourcedefinition', 'v1', false),
  'certificates.k8s.io/certificatesigningrequests': known('certificatesigningrequest', 'v1', false),
  'admissionregistration.k8s.io/validatingwebhookconfigurations': known(
    'validatingwebhookconfiguration',
    'v1',
    false,
  ),
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': known(
    'mutatingwebhookconfiguration',
    'v1',
    false,
  ),
};

function knownOf(r: KubeRequest): KnownResource | undefined {
  return KNOWN[`${r.apiGroup}/${r.resource}`];
}

/**
 * The resource argument: the familiar singular (or plural for collections) for built-ins at their
 * usual version, else kubectl's fully qualified `resource.version.group` (`resource.group` would
 * let kubectl pick another version).
 */
function typeArg(r: KubeRequest, collection: boolean): string {
  const k = knownOf(r);
  if (k !== undefined && k.version === r.apiVersion) return collection ? r.resource : k.singular;
  if (r.apiGroup === '') return r.resource;
  return `${r.resource}.${r.apiVersion}.${r.apiGroup}`;
}

/** `-n ns` for namespaced requests; the namespace of a namespace object is its own name. */
function namespaceArgs(r: KubeRequest): string[] {
  if (r.namespace === '' || r.resource === 'namespaces') return [];
  return ['-n', r.namespace];
}

/** For collections: `-n ns`, or `-A` where the resource may be namespaced and none was given. */
function collectionScopeArgs(r: KubeRequest): string[] {
  if (r.namespace !== '') return namespaceArgs(r);
  return knownOf(r)?.namespaced === false || r.resource === 'namespaces' ? [] : ['-A'];
}

function selectorArgs(r: KubeRequest): string[] {
  const out: string[] = [];
  if (r.labelSelector !== '') out.push('-l', r.labelSelector);
  if (r.fieldSelector !== '') out.push('--field-selector', r.fieldSelector);
  return out;
}

function first(r: KubeRequest, key: string): string | undefined {
  return r.query[key]?.[0];
}

function isTrue(r: KubeRequest, key: string): boolean {
  const v = first(r, key);
  return v !== undefined && v !== 'false' && v !== '0';
}

function dryRunArgs(r: KubeRequest): string[] {
  return (r.query['dryRun'] ?? []).includes('All') ? ['--dry-run=server'] : [];
}

/** The exact path and query kubegate forwards. */
function rawTarget(r: KubeRequest): string {
  return r.rawQuery === '' ? r.path : `${r.path}?${r.rawQuery}`;
}

type JsonObject = Readonly<Record<string, unknown>>;

function field(o: JsonObject | null | undefined, key: string): unknown {
  return o === null || o === undefined ? undefined : o[key];
}

function asObject(v: unknown): JsonObject | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : null;
}

function asString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** "Deployment prod/web": what a body (or, failing that, the path) says the object is. */
function objectLabel(r: KubeRequest, body: KubeRequestBody | null): string {
  const object = body?.object ?? null;
  const meta = asObject(field(object, 'metadata'));
  const kind = asString(field(object, 'kind')) || r.resource;
  const generateName = asString(field(meta, 'generateName'));
  const name = asString(field(meta, 'name')) || r.name || (generateName === '' ? '' : `${generateName}*`);
  const namespace = r.resource === 'namespaces' ? '' : asString(field(meta, 'namespace')) || r.namespace;
  const where = [namespace, name].filter((s) => s !== '').join('/');
  return where === '' ? kind : `${kind} ${where}`;
}

function bodyNote(body: KubeRequestBody | null): string {
  if (body === null || body.size === 0) return '';
  return body.object === null ? `, body ${body.size} bytes, sha256 ${body.digest.slice(0, 12)}` : '';
}

function command(args: readonly string[], comment = ''): string {
  const line = ['kubectl', ...args.map(shellQuote)].join(' ');
  return comment === '' ? line : `${line} # ${commentText(comment)}`;
}

/** `kubectl <get|create|replace|delete> --raw PATH`: exact, for what has no kubectl verb. */
function raw(r: KubeRequest, body: KubeRequestBody | null, note = ''): string {
  const target = rawTarget(r);
  switch (r.method) {
    case 'GET':
    case 'HEAD':
      return command(['get', '--raw', target], note);
    case 'POST':
      return command(['create', '--raw', target, '-f', '-'], note || objectLabel(r, body));
    case 'PUT':
      return command(['replace', '--raw', target, '-f', '-'], note || objectLabel(r, body));
    case 'DELETE':
      return command(['delete', '--raw', target], note);
    default:
      return `# ${r.method} ${commentText(target)} (no kubectl equivalent)`;
  }
}

const PATCH_TYPES: Readonly<Record<string, string>> = {
  'application/strategic-merge-patch+json': 'strategic',
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
};

function patch(r: KubeRequest, body: KubeRequestBody | null, subresource: string): string {
  if (r.contentType === 'application/apply-patch+yaml') return apply(r, body, subresource);
  const args = ['patch', typeArg(r, false), r.name, ...namespaceArgs(r)];
  if (subresource !== '') args.push(`--subresource=${subresource}`);
  const type = PATCH_TYPES[r.contentType];
  if (type !== undefined) args.push(`--type=${type}`);
  args.push(...dryRunArgs(r));
  if (body !== null && body.object !== null) {
    const json = JSON.stringify(body.object);
    const shown = Array.from(json).length > MAX_SHOWN;
    args.push('-p', cut(json));
    return command(args, shown ? `patch cut: ${body.size} bytes, sha256 ${body.digest.slice(0, 12)}` : '');
  }
  if (body !== null && body.size > 0) {
    // A JSON patch (an array) or an unreadable body: only its size and digest can be shown.
    args.push('-p', `<${body.size}-byte patch>`);
    return command(args, `sha256 ${body.digest.slice(0, 12)}`);
  }
  return command(args);
}

function apply(r: KubeRequest, body: KubeRequestBody | null, subresource: string): string {
  const args = ['apply', '--server-side'];
  if (isTrue(r, 'force')) args.push('--force-conflicts');
  const manager = first(r, 'fieldManager');
  if (manager !== undefined && manager !== 'kubectl') args.push(`--field-manager=${manager}`);
  if (subresource !== '') args.push(`--subresource=${subresource}`);
  args.push(...dryRunArgs(r), '-f', '-');
  return command(args, objectLabel(r, body) + bodyNote(body));
}

function replicasOf(body: KubeRequestBody | null): number | null {
  const replicas = field(asObject(field(body?.object, 'spec')), 'replicas');
  return typeof replicas === 'number' && Number.isSafeInteger(replicas) ? replicas : null;
}

function deleteArgs(body: KubeRequestBody | null): string[] {
  const options = body?.deleteOptions;
  if (!options) return [];
  const out: string[] = [];
  if (options.dryRun.includes('All')) out.push('--dry-run=server');
  if (options.gracePeriodSeconds !== null) out.push(`--grace-period=${options.gracePeriodSeconds}`);
  const policy = options.propagationPolicy ?? (options.orphanDependents === true ? 'Orphan' : null);
  // kubectl sends Background by default; only the other policies are worth a reviewer's eye.
  if (policy !== null && policy !== 'Background') out.push(`--cascade=${policy.toLowerCase()}`);
  return out;
}

function exec(r: KubeRequest): string {
  const args = ['exec', ...namespaceArgs(r), r.name];
  const container = first(r, 'container');
  if (container !== undefined) args.push('-c', container);
  if (isTrue(r, 'stdin')) args.push('-i');
  if (isTrue(r, 'tty')) args.push('-t');
  const commandWords = r.query['command'] ?? [];
  if (commandWords.length > 0) args.push('--', ...commandWords);
  return command(args);
}

function attach(r: KubeRequest): string {
  const args = ['attach', ...namespaceArgs(r), r.name];
  const container = first(r, 'container');
  if (container !== undefined) args.push('-c', container);
  if (isTrue(r, 'stdin')) args.push('-i');
  if (isTrue(r, 'tty')) args.push('-t');
  return command(args);
}

function portForward(r: KubeRequest): string {
  // kubectl carries ports inside the stream; only WebSocket v4 clients put them in ?ports=.
  const ports = (r.query['ports'] ?? []).flatMap((p) => p.split(',')).filter((p) => p !== '');
  return command(['port-forward', ...namespaceArgs(r), `pod/${r.name}`, ...ports]);
}

function logs(r: KubeRequest): string {
  const args = ['logs', ...namespaceArgs(r), r.name];
  const container = first(r, 'container');
  if (container !== undefined) args.push('-c', container);
  if (isTrue(r, 'follow')) args.push('-f');
  if (isTrue(r, 'previous')) args.push('-p');
  if (isTrue(r, 'timestamps')) args.push('--timestamps');
  const value = (key: string, flag: string, suffix = ''): void => {
    const v = first(r, key);
    if (v !== undefined) args.push(`${flag}=${v}${suffix}`);
  };
  value('tailLines', '--tail');
  value('sinceSeconds', '--since', 's');
  value('sinceTime', '--since-time');
  value('limitBytes', '--limit-bytes');
  if (isTrue(r, 'insecureSkipTLSVerifyBackend')) args.push('--insecure-skip-tls-verify-backend');
  return command(args);
}

function token(r: KubeRequest, body: KubeRequestBody | null): string {
  const args = ['create', 'token', r.name, ...namespaceArgs(r)];
  const spec = asObject(field(body?.object, 'spec'));
  const seconds = field(spec, 'expirationSeconds');
  if (typeof seconds === 'number') args.push(`--duration=${seconds}s`);
  const audiences = field(spec, 'audiences');
  if (Array.isArray(audiences)) {
    for (const a of audiences) if (typeof a === 'string') args.push(`--audience=${a}`);
  }
  return command(args);
}

/** A subresource request: the kubectl verbs that have one, else the exact raw form. */
function subresourceCommand(r: KubeRequest, body: KubeRequestBody | null): string {
  const sub = r.subresource;
  if (r.resource === 'pods' && r.apiGroup === '') {
    if (sub === 'exec' && (r.method === 'GET' || r.method === 'POST')) return exec(r);
    if (sub === 'attach' && (r.method === 'GET' || r.method === 'POST')) return attach(r);
    if (sub === 'portforward' && (r.method === 'GET' || r.method === 'POST')) return portForward(r);
    if (sub === 'log' && r.verb === 'get') return logs(r);
  }
  if (r.resource === 'serviceaccounts' && r.apiGroup === '' && sub === 'token' && r.verb === 'create') {
    return token(r, body);
  }
  if (sub === 'scale' && (r.verb === 'patch' || r.verb === 'update')) {
    const replicas = replicasOf(body);
    if (replicas !== null && (r.verb === 'update' || r.contentType === 'application/merge-patch+json')) {
      return command([
        'scale',
        typeArg(r, false),
        r.name,
        ...namespaceArgs(r),
        `--replicas=${replicas}`,
        ...dryRunArgs(r),
      ]);
    }
  }
  if (sub === 'status' || sub === 'scale') {
    if (r.verb === 'get') {
      return command(['get', typeArg(r, false), r.name, ...namespaceArgs(r), `--subresource=${sub}`]);
    }
    if (r.verb === 'patch') return patch(r, body, sub);
    if (r.verb === 'update') {
      return command(
        ['replace', `--subresource=${sub}`, ...dryRunArgs(r), '-f', '-'],
        objectLabel(r, body) + bodyNote(body),
      );
    }
  }
  // exec-capable nodes/proxy, services/proxy, eviction, finalize, binding, …: show the exact target.
  return raw(r, body);
}

/** The kubectl command a reviewer reads for this request; see the header for what it guarantees. */
export function kubectlEquivalent(request: KubeRequest, body: KubeRequestBody | null): string {
  const r = request;
  if (!r.isResourceRequest || r.verb === 'proxy' || r.verb === '') return raw(r, body);
  if (r.subresource !== '') return subresourceCommand(r, body);
  switch (r.verb) {
    case 'get':
      return command(['get', typeArg(r, false), r.name, ...namespaceArgs(r)]);
    case 'list':
    case 'watch': {
      const watch = r.verb === 'watch' ? ['-w'] : [];
      // The /watch/ path prefix can name one object; the metadata.name shortcut shows as a selector.
      if (r.name !== '' && r.fieldSelector === '') {
        return command(['get', typeArg(r, false), r.name, ...namespaceArgs(r), ...watch]);
      }
      return command(['get', typeArg(r, true), ...collectionScopeArgs(r), ...selectorArgs(r), ...watch]);
    }
    case 'create':
      return command(['create', ...dryRunArgs(r), '-f', '-'], objectLabel(r, body) + bodyNote(body));
    case 'update':
      return command(['replace', ...dryRunArgs(r), '-f', '-'], objectLabel(r, body) + bodyNote(body));
    case 'patch':
      return patch(r, body, '');
    case 'delete':
      return command(['delete', typeArg(r, false), r.name, ...namespaceArgs(r), ...deleteArgs(body)]);
    case 'deletecollection': {
      const selectors = selectorArgs(r);
      return command([
        'delete',
        typeArg(r, true),
        ...collectionScopeArgs(r),
        ...(selectors.length === 0 ? ['--all'] : selectors),
        ...deleteArgs(body),
      ]);
    }
    default:
      return raw(r, body);
  }
}
