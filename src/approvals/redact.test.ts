// The redaction rules, one row per rule: what must be hidden is hidden wherever it sits, what is
// not a credential stays readable, and redacting twice changes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRequest } from '../request/parse.js';
import { withBody } from '../request/body.js';
import { createPending } from './state-machine.js';
import type { ReviewerContext } from './types.js';
import {
  LAST_APPLIED,
  MARKER,
  REDACTION_NOTE,
  createRedactor,
  isCredentialKey,
  redactBody,
  redactContext,
  type RedactionTarget,
} from './redact.js';

const CONFIGMAPS: RedactionTarget = { apiGroup: '', resource: 'configmaps', subresource: '' };
const SECRETS: RedactionTarget = { apiGroup: '', resource: 'secrets', subresource: '' };
const TOKEN: RedactionTarget = { apiGroup: '', resource: 'serviceaccounts', subresource: 'token' };

const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMiLCJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZDpzIn0.c2lnbmF0dXJlLWJ5dGVz';
const PEM_KEY =
  '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END RSA PRIVATE KEY-----\n';
const KUBECONFIG = [
  'apiVersion: v1',
  'kind: Config',
  'clusters:',
  '- name: prod',
  '  cluster:',
  '    server: https://prod.example:6443',
  'users:',
  '- name: admin',
  '  user:',
  '    client-certificate-data: LS0tLS1CRUdJTiBDRVJU',
  '    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==',
  '- name: robot',
  '  user:',
  '    token: s3cr3t-t0ken',
  '',
].join('\n');

/** Every string anywhere in `value`. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  }
  return [];
}

function assertNowhere(value: unknown, secrets: readonly string[]): void {
  const all = JSON.stringify(value);
  for (const s of secrets) assert.ok(!all.includes(s), `${s} is still in ${all}`);
}

const objectRows: {
  name: string;
  target: RedactionTarget;
  input: unknown;
  hidden: readonly string[];
  kept: readonly string[];
}[] = [
  {
    name: "a Secret's data and stringData values are hidden, its keys and name are not",
    target: SECRETS,
    input: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'prod' },
      data: { password: 'aHVudGVyMg==' },
      stringData: { note: 'plain words' },
    },
    hidden: ['aHVudGVyMg==', 'plain words'],
    kept: ['db', 'password', 'note'],
  },
  {
    name: "a Secret's last-applied-configuration annotation (which repeats its data) is hidden",
    target: SECRETS,
    input: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'db',
        annotations: { [LAST_APPLIED]: '{"data":{"x":"Ynl0ZXM="}}', team: 'payments' },
      },
    },
    hidden: ['Ynl0ZXM='],
    kept: ['payments'],
  },
  {
    name: 'a Secret is recognised by its kind whatever the request targets (a List of them too)',
    target: CONFIGMAPS,
    input: {
      apiVersion: 'v1',
      kind: 'List',
      items: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' }, data: { k: 'c2VjcmV0' } }],
    },
    hidden: ['c2VjcmV0'],
    kept: ['a', 'k'],
  },
  {
    name: "a TokenRequest's status.token is hidden, its expiry is not",
    target: TOKEN,
    input: {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600 },
      status: { token: 'opaque-token-bytes', expirationTimestamp: '2026-12-04T12:00:00Z' },
    },
    hidden: ['opaque-token-bytes'],
    kept: ['2026-12-04T12:00:00Z', 'https://kubernetes.default.svc'],
  },
  {
    name: 'a string under any credential-named key is hidden (DB_PASSWORD, apiKey, client-secret)',
    target: CONFIGMAPS,
    input: {
      kind: 'ConfigMap',
      data: { DB_PASSWORD: 'hunter2', apiKey: 'k-123', 'client-secret': 'cs-456', mode: 'fast' },
    },
    hidden: ['hunter2', 'k-123', 'cs-456'],
    kept: ['fast', 'DB_PASSWORD'],
  },
  {
    name: 'a kubeconfig held in a ConfigMap is hidden whole',
    target: CONFIGMAPS,
    input: { kind: 'ConfigMap', data: { config: KUBECONFIG, other: 'visible' } },
    hidden: ['s3cr3t-t0ken', 'LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==', 'prod.example'],
    kept: ['visible'],
  },
  {
    name: 'a kubeconfig encoded in base64 (binaryData, annotations) is hidden too',
    target: CONFIGMAPS,
    input: { kind: 'ConfigMap', binaryData: { config: Buffer.from(KUBECONFIG).toString('base64') } },
    hidden: [Buffer.from(KUBECONFIG).toString('base64')],
    kept: [],
  },
  {
    name: 'a JWT and a PEM private key are hidden wherever they sit',
    target: CONFIGMAPS,
    input: {
      kind: 'Deployment',
      metadata: { annotations: { 'example.com/handoff': `bearer ${JWT}` } },
      spec: { template: { spec: { containers: [{ args: ['--key', PEM_KEY] }] } } },
    },
    hidden: [JWT, 'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo'],
    kept: ['--key'],
  },
  {
    name: "a kubeconfig inside another object's last-applied JSON (escaped) is hidden",
    target: CONFIGMAPS,
    input: {
      kind: 'ConfigMap',
      metadata: {
        annotations: {
          [LAST_APPLIED]: JSON.stringify({
            data: { 'app.json': JSON.stringify({ password: 'pw-in-json' }) },
          }),
        },
      },
    },
    hidden: ['pw-in-json'],
    kept: [],
  },
  {
    name: 'ordinary objects are left alone: booleans named like credentials, names, public certificates',
    target: CONFIGMAPS,
    input: {
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        automountServiceAccountToken: false,
        serviceAccountName: 'builder',
        containers: [{ name: 'main', image: 'registry.example/app:1', env: [{ name: 'MODE', value: 'x' }] }],
        volumes: [{ name: 'sa', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }],
      },
      data: { 'ca.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
    },
    hidden: [],
    kept: [
      'builder',
      'registry.example/app:1',
      'token',
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    ],
  },
];

for (const row of objectRows) {
  test(row.name, () => {
    const r = createRedactor();
    const out = r.object(row.input, row.target);
    assertNowhere(out, row.hidden);
    const all = strings(out);
    for (const k of row.kept) assert.ok(all.includes(k), `${k} was lost: ${JSON.stringify(out)}`);
    assert.equal(r.redacted, row.hidden.length > 0);
    if (row.hidden.length > 0)
      assert.ok(
        all.some((s) => MARKER.test(s)),
        'a marker stands in',
      );
  });
}

const textRows: { name: string; input: string; hidden: readonly string[]; kept: readonly string[] }[] = [
  {
    name: 'YAML lines: only the credential values go',
    input: 'users:\n- name: robot\n  user:\n    token: s3cr3t\n    password: "p w"\n    username: robot\n',
    hidden: ['s3cr3t', 'p w'],
    kept: ['username: robot', 'name: robot', 'token: (redacted', 'password: "(redacted'],
  },
  {
    name: 'JSON pairs, env assignments and query strings',
    input: '{"token":"t-1","user":"u"} DB_PASSWORD=pw-2 https://x.example/cb?a=1&access_token=t-3',
    hidden: ['t-1', 'pw-2', 't-3'],
    kept: ['"user":"u"', 'https://x.example/cb?a=1'],
  },
  {
    name: 'a YAML block scalar under a credential key loses its whole block',
    input: 'config:\n  password: |\n    line-one\n    line-two\n  mode: fast\n',
    hidden: ['line-one', 'line-two'],
    kept: ['mode: fast'],
  },
  {
    name: 'a diff of a kubeconfig keeps its shape, not its credentials',
    input: `--- live\n+++ dry-run\n@@ -1,2 +1,2 @@\n-    token: old-${JWT.slice(0, 10)}\n+    token: new-value\n     server: https://a\n`,
    hidden: ['old-', 'new-value'],
    kept: ['--- live', '     server: https://a'],
  },
  {
    name: 'a JWT and a PEM key in free text',
    input: `the API server said: ${JWT} and\n${PEM_KEY}done`,
    hidden: [JWT, 'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo'],
    kept: ['the API server said: ', 'done'],
  },
  {
    name: "kubegate's own notes about tokens are not mistaken for credentials",
    input:
      'no dry run: the API server does not honour dryRun for serviceaccounts/token (TokenRequest): it would issue a real token',
    hidden: [],
    kept: ['serviceaccounts/token (TokenRequest): it would issue a real token'],
  },
  {
    name: 'booleans, nulls and markers are not credentials',
    input: 'automountServiceAccountToken: false\ntoken: null\npassword: (redacted 0123456789ab)\n',
    hidden: [],
    kept: ['automountServiceAccountToken: false', 'token: null', 'password: (redacted 0123456789ab)'],
  },
];

for (const row of textRows) {
  test(row.name, () => {
    const r = createRedactor();
    const out = r.text(row.input);
    for (const h of row.hidden) assert.ok(!out.includes(h), `${h} is still in ${out}`);
    for (const k of row.kept) assert.ok(out.includes(k), `${k} was lost: ${out}`);
    assert.equal(r.redacted, row.hidden.length > 0, out);
  });
}

test('credential keys are recognised by their ending, without case, dashes or underscores', () => {
  for (const k of ['token', 'id-token', 'DB_PASSWORD', 'client-key-data', 'secretAccessKey', 'apiKey']) {
    assert.ok(isCredentialKey(k), k);
  }
  for (const k of ['tokenFile', 'username', 'secretName', 'secretKeyRef', 'client-certificate-data']) {
    assert.ok(!isCredentialKey(k), k);
  }
});

test('equal values get equal markers within one redactor, and different ones differ', () => {
  const r = createRedactor();
  const a = r.object({ data: { password: 'same' } }, CONFIGMAPS) as { data: { password: string } };
  const b = r.object({ data: { password: 'same' } }, CONFIGMAPS) as { data: { password: string } };
  const c = r.object({ data: { password: 'other' } }, CONFIGMAPS) as { data: { password: string } };
  assert.equal(a.data.password, b.data.password);
  assert.notEqual(a.data.password, c.data.password);
  const other = createRedactor().object({ data: { password: 'same' } }, CONFIGMAPS) as typeof a;
  assert.notEqual(other.data.password, a.data.password, 'a marker cannot be matched across contexts');
});

const context = (over: Partial<ReviewerContext>): ReviewerContext => ({
  targetLabels: null,
  dryRun: null,
  diff: null,
  objects: null,
  exec: null,
  notes: [],
  ...over,
});

test('redactContext hides the dry-run object, the diff and the notes, and says so once', () => {
  const raw = context({
    dryRun: { status: 201, object: { kind: 'TokenRequest', status: { token: JWT } }, message: null },
    diff: `+status:\n+  token: ${JWT}\n`,
    notes: ['an API server note'],
  });
  const once = redactContext(raw, TOKEN);
  assertNowhere(once, [JWT]);
  assert.deepEqual(once.notes, ['an API server note', REDACTION_NOTE]);
  const twice = redactContext(once, TOKEN);
  assert.deepEqual(twice, once, 'redacting again changes nothing');
});

test('redactContext leaves a context without credentials exactly as it was', () => {
  const raw = context({
    dryRun: { status: 200, object: { kind: 'ConfigMap', data: { a: '1' } }, message: null },
    diff: '-  a: "0"\n+  a: "1"\n',
    notes: ['the live object could not be read'],
  });
  assert.deepEqual(redactContext(raw, CONFIGMAPS), raw);
});

test('redactBody hides what a patch of a Secret would write, keeping the rest of the body', () => {
  const body = {
    digest: 'abc',
    size: 40,
    object: { data: { password: 'aHVudGVy' }, metadata: { labels: { a: 'b' } } },
    deleteOptions: null,
  };
  const out = redactBody(body, SECRETS);
  assertNowhere(out, ['aHVudGVy']);
  assert.deepEqual((out.object as { metadata: unknown }).metadata, { labels: { a: 'b' } });
  assert.equal(out.digest, 'abc');
  assert.equal(redactBody({ ...body, object: null }, SECRETS).object, null);
});

test("a pending request's kubectl command, rendered from a Secret patch, shows no Secret bytes", () => {
  const request = parseRequest({
    method: 'PATCH',
    target: '/api/v1/namespaces/prod/secrets/db?fieldManager=kubectl-patch',
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  const bytes = Buffer.from('{"data":{"password":"aHVudGVyMg=="}}');
  const pending = createPending(
    {
      identity: { user: 'alice', groups: ['dev'], method: 'token' },
      request,
      body: withBody(request, bytes),
      decision: { kind: 'approve', rules: [], byDefault: true, approval: [] },
    },
    'fp',
    'kg-aaaaaaaaaa',
    new Date('2026-12-04T10:00:00Z'),
  );
  assert.match(pending.request.kubectlEquivalent, /^kubectl patch secret db -n prod /u);
  assert.match(pending.request.kubectlEquivalent, /\(redacted [0-9a-f]{12}\)/u);
  assert.ok(!pending.request.kubectlEquivalent.includes('aHVudGVyMg=='), pending.request.kubectlEquivalent);
});
