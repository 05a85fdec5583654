// Table tests for kubectlEquivalent: each row is a request as kubectl (or another client) sends it,
// read by parseRequest and withBody exactly as the gateway does, and the line a reviewer sees.
// shellQuote has its own table, including the characters that must never reach a terminal raw.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBody } from './body.js';
import { MAX_SHOWN, kubectlEquivalent, shellQuote } from './kubectl-command.js';
import { parseRequest } from './parse.js';

interface Input {
  readonly method: string;
  readonly target: string;
  readonly contentType?: string;
  /** The body exactly as sent; undefined when the body was not read (e.g. upgrades). */
  readonly body?: string;
}

function render(input: Input): string {
  const headers = input.contentType === undefined ? {} : { 'content-type': input.contentType };
  const request = parseRequest({ method: input.method, target: input.target, headers });
  const body = input.body === undefined ? null : withBody(request, Buffer.from(input.body, 'utf8'));
  return kubectlEquivalent(request, body);
}

const json = 'application/json';
const deployment = JSON.stringify({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prod' },
  spec: { replicas: 2 },
});
const bigPatch = JSON.stringify({
  spec: { template: { metadata: { annotations: { note: 'x'.repeat(400) } } } },
});

const rows: { name: string; input: Input; want: string }[] = [
  // reads
  {
    name: 'a get of one pod names it and its namespace',
    input: { method: 'GET', target: '/api/v1/namespaces/prod/pods/web-0' },
    want: 'kubectl get pod web-0 -n prod',
  },
  {
    name: 'a list with a label selector shows -l',
    input: { method: 'GET', target: '/api/v1/namespaces/prod/pods?labelSelector=app%3Dweb&limit=500' },
    want: 'kubectl get pods -n prod -l app=web',
  },
  {
    name: 'a watch with a label selector shows -l and -w',
    input: {
      method: 'GET',
      target: '/api/v1/namespaces/prod/pods?labelSelector=app%3Dweb&resourceVersion=1&watch=true',
    },
    want: 'kubectl get pods -n prod -l app=web -w',
  },
  {
    name: 'a set-based selector is quoted as one word',
    input: { method: 'GET', target: '/api/v1/namespaces/prod/pods?labelSelector=app+in+%28web%2Cdb%29' },
    want: "kubectl get pods -n prod -l 'app in (web,db)'",
  },
  {
    name: 'the metadata.name shortcut shows as the field selector it is',
    input: {
      method: 'GET',
      target: '/api/v1/namespaces/prod/pods?fieldSelector=metadata.name%3Dweb-0&watch=1',
    },
    want: 'kubectl get pods -n prod --field-selector metadata.name=web-0 -w',
  },
  {
    name: 'a list of a namespaced resource without a namespace is -A',
    input: { method: 'GET', target: '/apis/apps/v1/deployments' },
    want: 'kubectl get deployments -A',
  },
  {
    name: 'a list of a cluster-scoped resource has no scope flag',
    input: { method: 'GET', target: '/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue' },
    want: 'kubectl get nodes --field-selector spec.unschedulable=true',
  },
  {
    name: 'the legacy /watch/ prefix on one object watches it by name',
    input: { method: 'GET', target: '/api/v1/watch/namespaces/prod/pods/web-0' },
    want: 'kubectl get pod web-0 -n prod -w',
  },
  {
    name: 'a namespace is named, not passed as -n',
    input: { method: 'GET', target: '/api/v1/namespaces/prod' },
    want: 'kubectl get namespace prod',
  },
  {
    name: 'a resource of an unknown group is fully qualified',
    input: { method: 'GET', target: '/apis/example.com/v1/namespaces/prod/widgets/w1' },
    want: 'kubectl get widgets.v1.example.com w1 -n prod',
  },
  {
    name: 'a built-in at another version is fully qualified',
    input: { method: 'GET', target: '/apis/apps/v1beta1/namespaces/prod/deployments/web' },
    want: 'kubectl get deployments.v1beta1.apps web -n prod',
  },
  {
    name: 'a status read uses --subresource',
    input: { method: 'GET', target: '/apis/apps/v1/namespaces/prod/deployments/web/status' },
    want: 'kubectl get deployment web -n prod --subresource=status',
  },
  // writes
  {
    name: 'a delete names the kind singular and the namespace',
    input: {
      method: 'DELETE',
      target: '/apis/apps/v1/namespaces/prod/deployments/web',
      contentType: json,
      body: '{"propagationPolicy":"Background"}',
    },
    want: 'kubectl delete deployment web -n prod',
  },
  {
    name: 'a forced delete shows its grace period, dry run and orphaning from the body',
    input: {
      method: 'DELETE',
      target: '/api/v1/namespaces/prod/pods/web-0',
      contentType: json,
      body: '{"gracePeriodSeconds":0,"propagationPolicy":"Orphan","dryRun":["All"]}',
    },
    want: 'kubectl delete pod web-0 -n prod --dry-run=server --grace-period=0 --cascade=orphan',
  },
  {
    name: 'delete options in the query count when the body is empty',
    input: { method: 'DELETE', target: '/api/v1/namespaces/prod/pods/web-0?gracePeriodSeconds=5', body: '' },
    want: 'kubectl delete pod web-0 -n prod --grace-period=5',
  },
  {
    name: 'a deletecollection with a selector deletes by label',
    input: { method: 'DELETE', target: '/api/v1/namespaces/prod/pods?labelSelector=app%3Dweb', body: '' },
    want: 'kubectl delete pods -n prod -l app=web',
  },
  {
    name: 'a deletecollection without a selector is --all',
    input: { method: 'DELETE', target: '/api/v1/namespaces/prod/configmaps', body: '' },
    want: 'kubectl delete configmaps -n prod --all',
  },
  {
    name: 'a create shows the kind and name the body holds',
    input: {
      method: 'POST',
      target: '/apis/apps/v1/namespaces/prod/deployments?fieldManager=kubectl-create&fieldValidation=Strict',
      contentType: json,
      body: deployment,
    },
    want: 'kubectl create -f - # Deployment prod/web',
  },
  {
    name: 'a create with generateName shows the prefix',
    input: {
      method: 'POST',
      target: '/apis/batch/v1/namespaces/prod/jobs?dryRun=All',
      contentType: json,
      body: '{"kind":"Job","metadata":{"generateName":"backup-"}}',
    },
    want: 'kubectl create --dry-run=server -f - # Job prod/backup-*',
  },
  {
    name: 'a protobuf create shows its size and digest instead of a kind',
    input: {
      method: 'POST',
      target: '/api/v1/namespaces/prod/configmaps',
      contentType: 'application/vnd.kubernetes.protobuf',
      body: 'k8s\0',
    },
    want: 'kubectl create -f - # configmaps prod, body 4 bytes, sha256 ',
  },
  {
    name: 'a replace names the object',
    input: {
      method: 'PUT',
      target: '/apis/apps/v1/namespaces/prod/deployments/web',
      contentType: json,
      body: deployment,
    },
    want: 'kubectl replace -f - # Deployment prod/web',
  },
  {
    name: 'a strategic merge patch shows its type and body',
    input: {
      method: 'PATCH',
      target: '/apis/apps/v1/namespaces/prod/statefulsets/db?fieldManager=kubectl-patch',
      contentType: 'application/strategic-merge-patch+json',
      body: '{"spec":{"replicas":0}}',
    },
    want: `kubectl patch statefulset db -n prod --type=strategic -p '{"spec":{"replicas":0}}'`,
  },
  {
    name: 'a large patch is cut and marked with its size and digest',
    input: {
      method: 'PATCH',
      target: '/apis/apps/v1/namespaces/prod/statefulsets/db',
      contentType: 'application/merge-patch+json',
      body: bigPatch,
    },
    want: `kubectl patch statefulset db -n prod --type=merge -p '${bigPatch.slice(0, MAX_SHOWN)}…' # patch cut: ${bigPatch.length} bytes, sha256 `,
  },
  {
    name: 'a JSON patch, which has no object, shows its size and digest',
    input: {
      method: 'PATCH',
      target: '/api/v1/namespaces/prod/pods/web-0?dryRun=All',
      contentType: 'application/json-patch+json',
      body: '[{"op":"remove","path":"/metadata/labels/app"}]',
    },
    want: "kubectl patch pod web-0 -n prod --type=json --dry-run=server -p '<47-byte patch>' # sha256 ",
  },
  {
    name: 'a server-side apply reads as kubectl apply --server-side',
    input: {
      method: 'PATCH',
      target:
        '/apis/apps/v1/namespaces/prod/deployments/web?fieldManager=kubectl&fieldValidation=Strict&force=false',
      contentType: 'application/apply-patch+yaml',
      body: deployment,
    },
    want: 'kubectl apply --server-side -f - # Deployment prod/web',
  },
  {
    name: 'a forced server-side apply by another manager says so',
    input: {
      method: 'PATCH',
      target: '/apis/apps/v1/namespaces/prod/deployments/web?fieldManager=helm&force=true',
      contentType: 'application/apply-patch+yaml',
      body: deployment,
    },
    want: 'kubectl apply --server-side --force-conflicts --field-manager=helm -f - # Deployment prod/web',
  },
  {
    name: 'a merge patch of a scale is kubectl scale',
    input: {
      method: 'PATCH',
      target: '/apis/apps/v1/namespaces/prod/deployments/web/scale',
      contentType: 'application/merge-patch+json',
      body: '{"spec":{"replicas":3}}',
    },
    want: 'kubectl scale deployment web -n prod --replicas=3',
  },
  {
    name: 'a replace of a scale is kubectl scale too',
    input: {
      method: 'PUT',
      target: '/apis/apps/v1/namespaces/prod/statefulsets/db/scale',
      body: '{"kind":"Scale","metadata":{"name":"db"},"spec":{"replicas":0}}',
    },
    want: 'kubectl scale statefulset db -n prod --replicas=0',
  },
  {
    name: 'a status patch uses --subresource',
    input: {
      method: 'PATCH',
      target: '/api/v1/nodes/n1/status',
      contentType: 'application/strategic-merge-patch+json',
      body: '{"status":{"phase":"x"}}',
    },
    want: `kubectl patch node n1 --subresource=status --type=strategic -p '{"status":{"phase":"x"}}'`,
  },
  // connect subresources
  {
    name: 'an exec shows the container and the command after --',
    input: {
      method: 'GET',
      target:
        '/api/v1/namespaces/prod/pods/web-0/exec?command=rm&command=-rf&command=%2Fdata&container=main&stderr=true&stdout=true',
    },
    want: 'kubectl exec -n prod web-0 -c main -- rm -rf /data',
  },
  {
    name: 'an interactive SPDY exec shows -i and -t',
    input: {
      method: 'POST',
      target: '/api/v1/namespaces/prod/pods/web-0/exec?command=sh&stdin=true&tty=true',
    },
    want: 'kubectl exec -n prod web-0 -i -t -- sh',
  },
  {
    name: 'an exec argument with shell syntax is quoted',
    input: {
      method: 'GET',
      target: '/api/v1/namespaces/prod/pods/web-0/exec?command=sh&command=-c&command=echo+%24HOME%3B+rm+%2A',
    },
    want: "kubectl exec -n prod web-0 -- sh -c 'echo $HOME; rm *'",
  },
  {
    name: 'an exec argument with a newline and an ANSI escape cannot redraw the line',
    input: {
      method: 'GET',
      target: '/api/v1/namespaces/prod/pods/web-0/exec?command=ls%0A%1B%5B2Kkubectl+get+pods',
    },
    want: "kubectl exec -n prod web-0 -- $'ls\\n\\x1b[2Kkubectl get pods'",
  },
  {
    name: 'an attach shows the container and stdin',
    input: { method: 'GET', target: '/api/v1/namespaces/prod/pods/web-0/attach?container=main&stdin=true' },
    want: 'kubectl attach -n prod web-0 -c main -i',
  },
  {
    name: 'a port-forward names the pod',
    input: { method: 'GET', target: '/api/v1/namespaces/prod/pods/web-0/portforward' },
    want: 'kubectl port-forward -n prod pod/web-0',
  },
  {
    name: 'a port-forward with ports in the query shows them',
    input: { method: 'GET', target: '/api/v1/namespaces/prod/pods/web-0/portforward?ports=8080&ports=9090' },
    want: 'kubectl port-forward -n prod pod/web-0 8080 9090',
  },
  {
    name: 'a followed log shows the container and -f',
    input: { method: 'GET', target: '/api/v1/namespaces/prod/pods/web-0/log?container=main&follow=true' },
    want: 'kubectl logs -n prod web-0 -c main -f',
  },
  {
    name: 'a log read shows tail, since, timestamps and previous',
    input: {
      method: 'GET',
      target:
        '/api/v1/namespaces/prod/pods/web-0/log?previous=true&sinceSeconds=3600&tailLines=10&timestamps=true',
    },
    want: 'kubectl logs -n prod web-0 -p --timestamps --tail=10 --since=3600s',
  },
  {
    name: 'a token request is kubectl create token',
    input: {
      method: 'POST',
      target: '/api/v1/namespaces/prod/serviceaccounts/deployer/token',
      contentType: json,
      body: '{"spec":{"expirationSeconds":600,"audiences":["vault"]}}',
    },
    want: 'kubectl create token deployer -n prod --duration=600s --audience=vault',
  },
  // exact raw forms
  {
    name: 'a non-resource read is get --raw',
    input: { method: 'GET', target: '/version' },
    want: 'kubectl get --raw /version',
  },
  {
    name: 'a raw target with a query is quoted',
    input: { method: 'GET', target: '/openapi/v3/api/v1?hash=abc' },
    want: "kubectl get --raw '/openapi/v3/api/v1?hash=abc'",
  },
  {
    name: 'a node proxy, which can run commands, shows its exact target',
    input: { method: 'POST', target: '/api/v1/nodes/n1/proxy/run/prod/web-0/main?cmd=id', body: '' },
    want: "kubectl create --raw '/api/v1/nodes/n1/proxy/run/prod/web-0/main?cmd=id' -f - # nodes n1",
  },
  {
    name: 'a service proxy read shows its exact target',
    input: { method: 'GET', target: '/api/v1/namespaces/prod/services/https:web:443/proxy/healthz' },
    want: 'kubectl get --raw /api/v1/namespaces/prod/services/https:web:443/proxy/healthz',
  },
  {
    name: 'an eviction is a raw create naming the pod',
    input: {
      method: 'POST',
      target: '/api/v1/namespaces/prod/pods/web-0/eviction',
      contentType: json,
      body: '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web-0","namespace":"prod"}}',
    },
    want: 'kubectl create --raw /api/v1/namespaces/prod/pods/web-0/eviction -f - # Eviction prod/web-0',
  },
  {
    name: 'a namespace finalize is the raw replace people run by hand',
    input: {
      method: 'PUT',
      target: '/api/v1/namespaces/stuck/finalize',
      contentType: json,
      body: '{"kind":"Namespace","metadata":{"name":"stuck"},"spec":{"finalizers":[]}}',
    },
    want: 'kubectl replace --raw /api/v1/namespaces/stuck/finalize -f - # Namespace stuck',
  },
  {
    name: 'OPTIONS on a proxy has no kubectl equivalent and says so',
    input: { method: 'OPTIONS', target: '/api/v1/namespaces/prod/pods/web-0/proxy' },
    want: '# OPTIONS /api/v1/namespaces/prod/pods/web-0/proxy (no kubectl equivalent)',
  },
  {
    name: 'the legacy /proxy/ prefix is shown raw',
    input: { method: 'GET', target: '/api/v1/proxy/namespaces/prod/pods/web-0/metrics' },
    want: 'kubectl get --raw /api/v1/proxy/namespaces/prod/pods/web-0/metrics',
  },
  // names that need quoting
  {
    name: 'a name with a space (as kubectl escapes it) is quoted',
    input: { method: 'GET', target: '/api/v1/namespaces/prod/configmaps/we%20ird' },
    want: "kubectl get configmap 'we ird' -n prod",
  },
  {
    name: "a name with a single quote keeps it through '\\''",
    input: { method: 'DELETE', target: "/api/v1/namespaces/prod/configmaps/it's" },
    want: "kubectl delete configmap 'it'\\''s' -n prod",
  },
  {
    name: 'a name with a bidi override is escaped, not shown raw',
    input: { method: 'GET', target: '/api/v1/namespaces/prod/configmaps/a%E2%80%AEb' },
    want: "kubectl get configmap $'a\\u202eb' -n prod",
  },
  {
    name: 'a name with a colon stays bare',
    input: { method: 'GET', target: '/api/v1/nodes/system:node:n1' },
    want: 'kubectl get node system:node:n1',
  },
];

for (const row of rows) {
  test(row.name, () => {
    const got = render(row.input);
    if (row.want.endsWith('sha256 ')) {
      assert.ok(got.startsWith(row.want), got);
      assert.match(got.slice(row.want.length), /^[0-9a-f]{12}$/);
    } else {
      assert.equal(got, row.want);
    }
  });
}

const quoteRows: { name: string; input: string; want: string }[] = [
  { name: 'a plain word stays bare', input: 'web-0', want: 'web-0' },
  { name: 'selector punctuation the shell ignores stays bare', input: 'a=b,c==d', want: 'a=b,c==d' },
  { name: 'a "!" is quoted against history expansion', input: 'a!=b', want: "'a!=b'" },
  { name: 'the empty string becomes two quotes', input: '', want: "''" },
  { name: 'a leading # is quoted so it is not a comment', input: '#x', want: "'#x'" },
  { name: 'a tilde is quoted so it is not expanded', input: '~root', want: "'~root'" },
  { name: 'glob characters are quoted', input: 'a*b?[c]', want: "'a*b?[c]'" },
  { name: 'command substitution is quoted', input: '$(id)`id`', want: "'$(id)`id`'" },
  { name: 'a single quote is closed, escaped and reopened', input: "a'b", want: "'a'\\''b'" },
  { name: 'a newline switches to ANSI-C quoting', input: 'a\nb', want: "$'a\\nb'" },
  { name: 'an escape character is written as \\x1b', input: '\x1b[31mred', want: "$'\\x1b[31mred'" },
  { name: 'a NUL is written as \\x00', input: 'a\0b', want: "$'a\\x00b'" },
  { name: 'a quote and a backslash are escaped inside ANSI-C quotes', input: "'\\\n", want: "$'\\'\\\\\\n'" },
  { name: 'a zero-width space is escaped', input: 'a\u200bb', want: "$'a\\u200bb'" },
  { name: 'a line separator is escaped', input: 'a\u2028b', want: "$'a\\u2028b'" },
  { name: 'printable non-ASCII stays readable inside quotes', input: 'naïve 名前', want: "'naïve 名前'" },
];

for (const row of quoteRows) {
  test(`shellQuote: ${row.name}`, () => {
    assert.equal(shellQuote(row.input), row.want);
  });
}
