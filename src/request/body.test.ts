// Table tests for withBody: digest and size of the exact bytes, the object of create/update/patch
// and how it was read (JSON, YAML, or only the metadata of a protobuf body), and DeleteOptions with the API server's precedence (a non-empty body wins; the query is read only
// when the body is empty).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { ErrorCode } from '../errors.js';
import { KubegateError } from '../errors.js';
import { withBody } from './body.js';
import { parseRequest } from './parse.js';
import type { DeleteOptions, KubeRequestBody } from './types.js';

interface Input {
  method: string;
  target: string;
  contentType?: string;
  body: string | Buffer;
}

function run(input: Input): KubeRequestBody {
  const headers = input.contentType === undefined ? {} : { 'content-type': input.contentType };
  const request = parseRequest({ method: input.method, target: input.target, headers });
  return withBody(request, typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body);
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
/** A protobuf envelope cut off inside its typeMeta: not readable. */
const PROTOBUF = Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09]);
/** `kubectl create configmap prod-x --from-literal=k=v` with a label env=prod, as kubectl ≥ 1.32 sends it. */
const PROTOBUF_CONFIGMAP = Buffer.from([
  ...[0x6b, 0x38, 0x73, 0x00], // k8s\0
  ...[0x0a, 0x0f, 0x0a, 0x02, ...Buffer.from('v1'), 0x12, 0x09, ...Buffer.from('ConfigMap')], // typeMeta
  ...[0x12, 0x1f], // raw, 31 bytes:
  ...[0x0a, 0x15, 0x0a, 0x06, ...Buffer.from('prod-x')], //   ObjectMeta { name,
  ...[0x5a, 0x0b, 0x0a, 0x03, ...Buffer.from('env'), 0x12, 0x04, ...Buffer.from('prod')], //   labels }
  ...[0x12, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76], //   data { k: v }
  ...[0x1a, 0x00, 0x22, 0x00], // contentEncoding "", contentType ""
]);
const CM = '/api/v1/namespaces/d/configmaps';
const configMapMetadata = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'prod-x', labels: { env: 'prod' } },
};
const POD = '/api/v1/namespaces/d/pods';

const digestRows: { name: string; input: Input; want: { digest: string; size: number } }[] = [
  {
    name: 'an empty body has no digest and size 0',
    input: { method: 'GET', target: POD, body: '' },
    want: { digest: '', size: 0 },
  },
  {
    name: 'the digest is the sha256 of the exact bytes',
    input: { method: 'POST', target: POD, contentType: 'application/json', body: 'abc' },
    want: { digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', size: 3 },
  },
  {
    name: 'a protobuf body is digested byte for byte',
    input: {
      method: 'POST',
      target: POD,
      contentType: 'application/vnd.kubernetes.protobuf',
      body: PROTOBUF,
    },
    want: { digest: sha256(PROTOBUF), size: PROTOBUF.length },
  },
  {
    name: 'whitespace changes the digest, since the bytes are what is forwarded',
    input: { method: 'POST', target: POD, contentType: 'application/json', body: '{"a":1} ' },
    want: { digest: sha256('{"a":1} '), size: 8 },
  },
  {
    name: 'the size counts bytes, not characters',
    input: { method: 'POST', target: POD, contentType: 'application/json', body: '"ü"' },
    want: { digest: sha256('"ü"'), size: 4 },
  },
];

for (const row of digestRows) {
  test(row.name, () => {
    const got = run(row.input);
    assert.deepEqual({ digest: got.digest, size: got.size }, row.want);
  });
}

const podJson = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web"}}}';
const podObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } } };

const objectRows: {
  name: string;
  input: Input;
  want: Record<string, unknown> | null;
  /** objectSource; by default 'json' when there is an object, null otherwise. */
  source?: KubeRequestBody['objectSource'];
}[] = [
  {
    name: 'a JSON create body is read as an object',
    input: { method: 'POST', target: POD, contentType: 'application/json', body: podJson },
    want: podObject,
  },
  {
    name: 'a create body with no content type is read as JSON',
    input: { method: 'POST', target: POD, body: podJson },
    want: podObject,
  },
  {
    name: 'a JSON update body is read as an object',
    input: { method: 'PUT', target: `${POD}/web`, contentType: 'application/json', body: podJson },
    want: podObject,
  },
  {
    name: 'a strategic-merge patch is read as an object',
    input: {
      method: 'PATCH',
      target: `${POD}/web`,
      contentType: 'application/strategic-merge-patch+json',
      body: '{"spec":{"x":1}}',
    },
    want: { spec: { x: 1 } },
  },
  {
    name: 'a merge patch on a scale subresource is read as an object',
    input: {
      method: 'PATCH',
      target: '/apis/apps/v1/namespaces/d/deployments/web/scale',
      contentType: 'application/merge-patch+json',
      body: '{"spec":{"replicas":3}}',
    },
    want: { spec: { replicas: 3 } },
  },
  {
    name: 'a JSON patch is an array and so not an object',
    input: {
      method: 'PATCH',
      target: `${POD}/web`,
      contentType: 'application/json-patch+json',
      body: '[{"op":"remove","path":"/x"}]',
    },
    want: null,
  },
  {
    name: 'a server-side apply body sent as JSON under the yaml type is read',
    input: {
      method: 'PATCH',
      target: `${POD}/web?fieldManager=kubectl`,
      contentType: 'application/apply-patch+yaml',
      body: podJson,
    },
    want: podObject,
  },
  {
    name: 'a real YAML apply body is read with YAML 1.1 booleans, as the API server reads it',
    input: {
      method: 'PATCH',
      target: `${POD}/web?fieldManager=x`,
      contentType: 'application/apply-patch+yaml',
      body: 'kind: Pod\nspec:\n  hostNetwork: yes\n  mode: 0777\n  when: 2024-01-01\n',
    },
    want: { kind: 'Pod', spec: { hostNetwork: true, mode: 511, when: '2024-01-01' } },
    source: 'yaml',
  },
  {
    name: 'an application/yaml create body is read',
    input: { method: 'POST', target: POD, contentType: 'application/yaml', body: 'metadata:\n  name: web\n' },
    want: { metadata: { name: 'web' } },
    source: 'yaml',
  },
  {
    name: 'a protobuf create body yields apiVersion, kind and metadata, and nothing else',
    input: {
      method: 'POST',
      target: CM,
      contentType: 'application/vnd.kubernetes.protobuf',
      body: PROTOBUF_CONFIGMAP,
    },
    want: configMapMetadata,
    source: 'protobuf-metadata',
  },
  {
    name: 'a protobuf update body yields its metadata too',
    input: {
      method: 'PUT',
      target: `${CM}/prod-x`,
      contentType: 'application/vnd.kubernetes.protobuf',
      body: PROTOBUF_CONFIGMAP,
    },
    want: configMapMetadata,
    source: 'protobuf-metadata',
  },
  {
    name: 'a protobuf patch body is not read, since the API server takes no protobuf patch',
    input: {
      method: 'PATCH',
      target: `${CM}/prod-x`,
      contentType: 'application/vnd.kubernetes.protobuf',
      body: PROTOBUF_CONFIGMAP,
    },
    want: null,
  },
  {
    name: 'a truncated protobuf create body gives no object',
    input: {
      method: 'POST',
      target: POD,
      contentType: 'application/vnd.kubernetes.protobuf',
      body: PROTOBUF,
    },
    want: null,
  },
  {
    name: 'a JSON body sent under the protobuf type gives no object, as the API server cannot read it',
    input: { method: 'POST', target: CM, contentType: 'application/vnd.kubernetes.protobuf', body: podJson },
    want: null,
  },
  {
    name: 'a CBOR create body is not read',
    input: { method: 'POST', target: CM, contentType: 'application/cbor', body: Buffer.from([0xa0]) },
    want: null,
  },
  {
    name: 'a malformed JSON create body gives no object',
    input: { method: 'POST', target: POD, contentType: 'application/json', body: '{"a":' },
    want: null,
  },
  {
    name: 'a JSON string body gives no object',
    input: { method: 'POST', target: POD, contentType: 'application/json', body: '"x"' },
    want: null,
  },
  {
    name: 'a JSON null body gives no object',
    input: { method: 'POST', target: POD, contentType: 'application/json', body: 'null' },
    want: null,
  },
  {
    name: 'a body on a get is not read',
    input: { method: 'GET', target: `${POD}/web`, contentType: 'application/json', body: podJson },
    want: null,
  },
  {
    name: 'an exec POST with no body has no object',
    input: { method: 'POST', target: `${POD}/web/exec?command=sh`, body: '' },
    want: null,
  },
  {
    name: 'an eviction body is read, since eviction is a create',
    input: {
      method: 'POST',
      target: `${POD}/web/eviction`,
      contentType: 'application/json',
      body: '{"kind":"Eviction","deleteOptions":{"gracePeriodSeconds":0}}',
    },
    want: { kind: 'Eviction', deleteOptions: { gracePeriodSeconds: 0 } },
  },
  {
    name: 'a __proto__ key in a body is an ordinary key',
    input: { method: 'POST', target: POD, contentType: 'application/json', body: '{"__proto__":{"x":1}}' },
    want: JSON.parse('{"__proto__":{"x":1}}') as Record<string, unknown>,
  },
];

for (const row of objectRows) {
  test(row.name, () => {
    const got = run(row.input);
    assert.deepEqual(got.object, row.want);
    assert.equal(
      got.objectSource,
      row.source === undefined ? (row.want === null ? null : 'json') : row.source,
    );
  });
}

const none: DeleteOptions = {
  dryRun: [],
  gracePeriodSeconds: null,
  propagationPolicy: null,
  orphanDependents: null,
};

const deleteRows: { name: string; input: Input; want: DeleteOptions | null }[] = [
  {
    name: 'a delete with no body and no query has empty options',
    input: { method: 'DELETE', target: `${POD}/web`, body: '' },
    want: none,
  },
  {
    name: 'a delete with no body reads its options from the query',
    input: {
      method: 'DELETE',
      target: `${POD}/web?gracePeriodSeconds=0&propagationPolicy=Foreground&dryRun=All&orphanDependents=false`,
      body: '',
    },
    want: {
      dryRun: ['All'],
      gracePeriodSeconds: 0,
      propagationPolicy: 'Foreground',
      orphanDependents: false,
    },
  },
  {
    name: 'an empty orphanDependents in the query is true',
    input: { method: 'DELETE', target: `${POD}/web?orphanDependents`, body: '' },
    want: { ...none, orphanDependents: true },
  },
  {
    name: 'kubectl delete reads its propagation policy from the JSON body',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"propagationPolicy":"Background"}',
    },
    want: { ...none, propagationPolicy: 'Background' },
  },
  {
    name: 'kubectl delete --grace-period=0 --force reads the grace period from the body',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"propagationPolicy":"Background"}',
    },
    want: { ...none, gracePeriodSeconds: 0, propagationPolicy: 'Background' },
  },
  {
    name: 'kubectl delete --dry-run=server reads dryRun from the body',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"propagationPolicy":"Background","dryRun":["All"]}',
    },
    want: { ...none, dryRun: ['All'], propagationPolicy: 'Background' },
  },
  {
    name: 'when the body is non-empty the query options are ignored entirely',
    input: {
      method: 'DELETE',
      target: `${POD}/web?dryRun=All&gracePeriodSeconds=30`,
      contentType: 'application/json',
      body: '{"propagationPolicy":"Orphan"}',
    },
    want: { ...none, propagationPolicy: 'Orphan' },
  },
  {
    name: 'a body of {} overrides a query dryRun with no dry run at all',
    input: { method: 'DELETE', target: `${POD}/web?dryRun=All`, contentType: 'application/json', body: '{}' },
    want: none,
  },
  {
    name: 'null fields in the body are unset options',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"dryRun":null,"gracePeriodSeconds":null,"propagationPolicy":null,"orphanDependents":null}',
    },
    want: none,
  },
  {
    name: 'orphanDependents is read from the body',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"orphanDependents":true}',
    },
    want: { ...none, orphanDependents: true },
  },
  {
    name: 'a delete body with no content type is read as JSON',
    input: { method: 'DELETE', target: `${POD}/web`, body: '{"gracePeriodSeconds":5}' },
    want: { ...none, gracePeriodSeconds: 5 },
  },
  {
    name: 'a YAML delete body is read',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/yaml',
      body: 'propagationPolicy: Foreground\n',
    },
    want: { ...none, propagationPolicy: 'Foreground' },
  },
  {
    name: 'a deletecollection reads its options from the body too',
    input: {
      method: 'DELETE',
      target: `${POD}?labelSelector=app%3Dweb`,
      contentType: 'application/json',
      body: '{"gracePeriodSeconds":1}',
    },
    want: { ...none, gracePeriodSeconds: 1 },
  },
  {
    name: 'a deletecollection with no body reads the query',
    input: { method: 'DELETE', target: `${POD}?labelSelector=app%3Dweb&dryRun=All`, body: '' },
    want: { ...none, dryRun: ['All'] },
  },
  {
    name: 'a create has no delete options',
    input: { method: 'POST', target: POD, contentType: 'application/json', body: podJson },
    want: null,
  },
];

for (const row of deleteRows) {
  test(row.name, () => {
    assert.deepEqual(run(row.input).deleteOptions, row.want);
  });
}

const deleteRefusedRows: { name: string; input: Input; want: ErrorCode }[] = [
  {
    name: 'a malformed JSON delete body is refused',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"propagationPolicy":',
    },
    want: 'KG_REQUEST_BODY_INVALID',
  },
  {
    name: 'a JSON array delete body is refused',
    input: { method: 'DELETE', target: `${POD}/web`, contentType: 'application/json', body: '[]' },
    want: 'KG_REQUEST_BODY_INVALID',
  },
  {
    name: 'a delete body of another kind is refused',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"kind":"Pod"}',
    },
    want: 'KG_REQUEST_BODY_INVALID',
  },
  {
    name: 'a dryRun that is not a list is refused',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"dryRun":"All"}',
    },
    want: 'KG_REQUEST_BODY_INVALID',
  },
  {
    name: 'a fractional gracePeriodSeconds is refused',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"gracePeriodSeconds":1.5}',
    },
    want: 'KG_REQUEST_BODY_INVALID',
  },
  {
    name: 'a string gracePeriodSeconds is refused',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"gracePeriodSeconds":"5"}',
    },
    want: 'KG_REQUEST_BODY_INVALID',
  },
  {
    name: 'a numeric propagationPolicy is refused',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"propagationPolicy":1}',
    },
    want: 'KG_REQUEST_BODY_INVALID',
  },
  {
    name: 'a string orphanDependents is refused',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/json',
      body: '{"orphanDependents":"true"}',
    },
    want: 'KG_REQUEST_BODY_INVALID',
  },
  {
    name: 'a protobuf delete body, which kubegate cannot read, is refused',
    input: {
      method: 'DELETE',
      target: `${POD}/web`,
      contentType: 'application/vnd.kubernetes.protobuf',
      body: PROTOBUF,
    },
    want: 'KG_REQUEST_BODY_INVALID',
  },
  {
    name: 'a non-integer gracePeriodSeconds in the query of a body-less delete is refused',
    input: { method: 'DELETE', target: `${POD}/web?gracePeriodSeconds=soon`, body: '' },
    want: 'KG_REQUEST_NONCANONICAL',
  },
];

for (const row of deleteRefusedRows) {
  test(row.name, () => {
    assert.throws(
      () => run(row.input),
      (err: unknown) => err instanceof KubegateError && err.code === row.want,
    );
  });
}

const yamlRefusedRows: { name: string; input: Input }[] = [
  {
    name: 'a YAML create naming its object with !!binary is refused (the API server reads prod-db)',
    input: {
      method: 'POST',
      target: CM,
      contentType: 'application/yaml',
      body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: !!binary cHJvZC1kYg==\n',
    },
  },
  {
    name: 'a server-side apply body with a merge key after the name is refused',
    input: {
      method: 'PATCH',
      target: `${CM}/prod-db?fieldManager=x`,
      contentType: 'application/apply-patch+yaml',
      body: 'metadata:\n  name: x\n  <<: {name: prod-db}\n',
    },
  },
  {
    name: 'a YAML update with two documents is refused',
    input: {
      method: 'PUT',
      target: `${CM}/x`,
      contentType: 'application/yaml',
      body: 'metadata:\n  name: x\n---\nmetadata:\n  name: y\n',
    },
  },
  {
    name: 'a YAML DELETE body with an anchor is refused',
    input: {
      method: 'DELETE',
      target: `${CM}/x`,
      contentType: 'application/yaml',
      body: 'gracePeriodSeconds: &g 0\n',
    },
  },
  {
    name: 'a YAML create that npm yaml cannot parse is refused rather than left unread',
    input: { method: 'POST', target: CM, contentType: 'application/yaml', body: 'a: [-]\n' },
  },
];

for (const row of yamlRefusedRows) {
  test(row.name, () => {
    assert.throws(
      () => run(row.input),
      (err: unknown) => err instanceof KubegateError && err.code === 'KG_REQUEST_BODY_UNSUPPORTED',
    );
  });
}

test('a JSON body is read with JSON.parse, whatever YAML would say about it', () => {
  const body = '{"metadata":{"name":"x","annotations":{"a":"x\u2028y"}}}';
  const got = run({ method: 'POST', target: CM, contentType: 'application/json', body });
  assert.deepEqual(got.object, JSON.parse(body));
});

test('a YAML DELETE body is read as go-yaml types it', () => {
  const got = run({
    method: 'DELETE',
    target: `${CM}/x`,
    contentType: 'application/yaml',
    body: 'gracePeriodSeconds: 0x10\norphanDependents: yes\n',
  });
  assert.deepEqual(got.deleteOptions, { ...none, gracePeriodSeconds: 16, orphanDependents: true });
});

test('a null label or annotation is the empty string, as ObjectMeta decodes it', () => {
  for (const [contentType, body] of [
    [
      'application/json',
      '{"metadata":{"name":"x","labels":{"env":null},"annotations":{"a":null}},"data":{"k":null}}',
    ],
    [
      'application/yaml',
      'metadata:\n  name: x\n  labels:\n    env: ~\n  annotations:\n    a:\ndata:\n  k: ~\n',
    ],
  ] as const) {
    const got = run({ method: 'POST', target: CM, contentType, body });
    // data is the object's own field: its null is left to the type (a rule reads it through CEL).
    assert.deepEqual(got.object, {
      metadata: { name: 'x', labels: { env: '' }, annotations: { a: '' } },
      data: { k: null },
    });
  }
});
