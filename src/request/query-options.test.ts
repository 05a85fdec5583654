// Table tests for readQueryOption: each typed option read as apimachinery converts it (bools:
// anything but 0/false is true; int64: strconv.ParseInt base 10), per the options struct of the
// request's handler; DELETE options from the body when there is one; and policyValueProblem,
// which refuses policy values that could never equal a converted option.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBody } from './body.js';
import { parseRequest } from './parse.js';
import type { OptionReading } from './query-options.js';
import { policyValueProblem, readQueryOption } from './query-options.js';

interface Input {
  readonly method: string;
  readonly target: string;
  readonly body?: string;
  readonly contentType?: string;
}

function read(input: Input, param: string): OptionReading {
  const headers = input.contentType === undefined ? {} : { 'content-type': input.contentType };
  const request = parseRequest({ method: input.method, target: input.target, headers });
  const body = withBody(request, Buffer.from(input.body ?? '', 'utf8'));
  return readQueryOption(request, body, param);
}

const v = (value: string): OptionReading => ({ kind: 'value', value });
const absent: OptionReading = { kind: 'absent' };
const unknown = (reason: RegExp) => reason;

const POD = '/api/v1/namespaces/d/pods/web';
const CM = '/api/v1/namespaces/d/configmaps';
const patch = (query: string): Input => ({
  method: 'PATCH',
  target: `${CM}/x?${query}`,
  contentType: 'application/apply-patch+yaml',
  body: '{}',
});
const exec = (method: string, query: string): Input => ({ method, target: `${POD}/exec?${query}` });

const rows: { name: string; input: Input; param: string; want: OptionReading | RegExp }[] = [
  // --- PatchOptions.force (Convert_Slice_string_To_Pointer_bool) ---
  { name: 'force=true is true', input: patch('force=true'), param: 'force', want: v('true') },
  { name: 'force=1 is true', input: patch('force=1'), param: 'force', want: v('true') },
  { name: 'force=True is true', input: patch('force=True'), param: 'force', want: v('true') },
  { name: 'force= (empty) is true', input: patch('force='), param: 'force', want: v('true') },
  { name: 'a bare force is true', input: patch('force'), param: 'force', want: v('true') },
  { name: 'force=yes is true', input: patch('force=yes'), param: 'force', want: v('true') },
  { name: 'force=0 is false', input: patch('force=0'), param: 'force', want: v('false') },
  { name: 'force=FALSE is false', input: patch('force=FALSE'), param: 'force', want: v('false') },
  {
    name: 'only the first force counts',
    input: patch('force=false&force=true'),
    param: 'force',
    want: v('false'),
  },
  { name: 'no force is absent', input: patch('fieldManager=x'), param: 'force', want: absent },
  {
    name: 'fieldManager is a string, as sent',
    input: patch('fieldManager=X'),
    param: 'fieldManager',
    want: v('X'),
  },
  {
    name: 'dryRun of a patch is its first value',
    input: patch('dryRun=All'),
    param: 'dryRun',
    want: v('All'),
  },
  // --- PodExecOptions / PodAttachOptions (Convert_Slice_string_To_bool) ---
  { name: 'exec tty=True is true', input: exec('GET', 'command=sh&tty=True'), param: 'tty', want: v('true') },
  { name: 'exec stdin= is true', input: exec('POST', 'command=sh&stdin='), param: 'stdin', want: v('true') },
  { name: 'exec stdin=1 is true', input: exec('GET', 'command=sh&stdin=1'), param: 'stdin', want: v('true') },
  {
    name: 'exec stderr=0 is false',
    input: exec('GET', 'command=sh&stderr=0'),
    param: 'stderr',
    want: v('false'),
  },
  { name: 'exec without tty has none', input: exec('GET', 'command=sh'), param: 'tty', want: absent },
  {
    name: 'exec command is the argv joined with spaces',
    input: exec('GET', 'command=rm&command=-rf&command=%2F'),
    param: 'command',
    want: v('rm -rf /'),
  },
  {
    name: 'argv0 is the first word',
    input: exec('GET', 'command=sh&command=-c'),
    param: 'argv0',
    want: v('sh'),
  },
  {
    name: 'exec container is a string',
    input: exec('GET', 'command=sh&container=App'),
    param: 'container',
    want: v('App'),
  },
  {
    name: 'attach stdin=TRUE is true',
    input: { method: 'POST', target: `${POD}/attach?stdin=TRUE` },
    param: 'stdin',
    want: v('true'),
  },
  // --- PodPortForwardOptions.ports: the stream carries them ---
  {
    name: 'port-forward ports are unknown even when given in the query',
    input: { method: 'GET', target: `${POD}/portforward?ports=22` },
    param: 'ports',
    want: unknown(/inside its stream/),
  },
  {
    name: 'port-forward ports are unknown when the query has none (kubectl)',
    input: { method: 'POST', target: `${POD}/portforward` },
    param: 'ports',
    want: unknown(/inside its stream/),
  },
  // --- PodLogOptions ---
  {
    name: 'logs follow=1 is true',
    input: { method: 'GET', target: `${POD}/log?follow=1` },
    param: 'follow',
    want: v('true'),
  },
  {
    name: 'logs tailLines=+010 is 10',
    input: { method: 'GET', target: `${POD}/log?tailLines=%2B010` },
    param: 'tailLines',
    want: v('10'),
  },
  {
    name: 'logs limitBytes=1e3 is refused by the API server, so unknown',
    input: { method: 'GET', target: `${POD}/log?limitBytes=1e3` },
    param: 'limitBytes',
    want: unknown(/not an integer/),
  },
  {
    name: 'logs sinceTime as kubectl writes it is kept',
    input: { method: 'GET', target: `${POD}/log?sinceTime=2024-01-02T03%3A04%3A05Z` },
    param: 'sinceTime',
    want: v('2024-01-02T03:04:05Z'),
  },
  {
    name: 'logs sinceTime with an offset is unknown',
    input: { method: 'GET', target: `${POD}/log?sinceTime=2024-01-02T03%3A04%3A05%2B01%3A00` },
    param: 'sinceTime',
    want: unknown(/kubectl writes it/),
  },
  // --- DeleteOptions: from the body when there is one, else the query ---
  {
    name: 'gracePeriodSeconds=+0 in the query of a body-less delete is 0',
    input: { method: 'DELETE', target: `${CM}/x?gracePeriodSeconds=%2B0` },
    param: 'gracePeriodSeconds',
    want: v('0'),
  },
  {
    name: 'gracePeriodSeconds=007 is 7',
    input: { method: 'DELETE', target: `${CM}/x?gracePeriodSeconds=007` },
    param: 'gracePeriodSeconds',
    want: v('7'),
  },
  {
    name: 'orphanDependents= (empty) in the query is true',
    input: { method: 'DELETE', target: `${CM}/x?orphanDependents=` },
    param: 'orphanDependents',
    want: v('true'),
  },
  {
    name: 'a DELETE body wins over the query',
    input: {
      method: 'DELETE',
      target: `${CM}/x?gracePeriodSeconds=30&dryRun=All`,
      contentType: 'application/json',
      body: '{"gracePeriodSeconds":0}',
    },
    param: 'gracePeriodSeconds',
    want: v('0'),
  },
  {
    name: 'a dryRun in the query of a DELETE with a body is ignored',
    input: {
      method: 'DELETE',
      target: `${CM}/x?dryRun=All`,
      contentType: 'application/json',
      body: '{"gracePeriodSeconds":0}',
    },
    param: 'dryRun',
    want: absent,
  },
  {
    name: 'ignoreStoreReadErrorWithClusterBreakingPotential=1 in a body-less delete is true',
    input: { method: 'DELETE', target: `${CM}/x?ignoreStoreReadErrorWithClusterBreakingPotential=1` },
    param: 'ignoreStoreReadErrorWithClusterBreakingPotential',
    want: v('true'),
  },
  {
    name: 'ignoreStoreReadErrorWithClusterBreakingPotential of a DELETE with a body is unknown',
    input: { method: 'DELETE', target: `${CM}/x`, contentType: 'application/json', body: '{}' },
    param: 'ignoreStoreReadErrorWithClusterBreakingPotential',
    want: unknown(/from a DELETE body/),
  },
  // --- ListOptions (list, watch, deletecollection) ---
  {
    name: 'list watch=1 is true',
    input: { method: 'GET', target: `${CM}?watch=1` },
    param: 'watch',
    want: v('true'),
  },
  {
    name: 'sendInitialEvents=True is true',
    input: { method: 'GET', target: `${CM}?watch=1&sendInitialEvents=True` },
    param: 'sendInitialEvents',
    want: v('true'),
  },
  {
    name: 'limit=0500 is 500',
    input: { method: 'GET', target: `${CM}?limit=0500` },
    param: 'limit',
    want: v('500'),
  },
  {
    name: 'timeoutSeconds=-0 is 0',
    input: { method: 'GET', target: `${CM}?watch=1&timeoutSeconds=-0` },
    param: 'timeoutSeconds',
    want: v('0'),
  },
  {
    name: 'a deletecollection reads its list options from the query',
    input: { method: 'DELETE', target: `${CM}?limit=%2B5` },
    param: 'limit',
    want: v('5'),
  },
  {
    name: 'resourceVersion is a string, as sent',
    input: { method: 'GET', target: `${CM}?resourceVersion=007` },
    param: 'resourceVersion',
    want: v('007'),
  },
  // --- parameters the handler does not decode keep their text ---
  {
    name: 'force on a create is not an option of the create: its text',
    input: { method: 'POST', target: `${CM}?force=1`, contentType: 'application/json', body: '{}' },
    param: 'force',
    want: v('1'),
  },
  {
    name: 'a proxy query belongs to the target: its text',
    input: { method: 'GET', target: `${POD}/proxy/x?follow=1` },
    param: 'follow',
    want: v('1'),
  },
  {
    name: 'limit on a get of one object is not a list option: its text',
    input: { method: 'GET', target: `${CM}/x?limit=007` },
    param: 'limit',
    want: v('007'),
  },
];

for (const row of rows) {
  test(row.name, () => {
    const got = read(row.input, row.param);
    if (row.want instanceof RegExp) {
      assert.equal(got.kind, 'unknown');
      assert.match((got as { reason: string }).reason, row.want);
    } else {
      assert.deepEqual(got, row.want);
    }
  });
}

const policyRows: { name: string; param: string; value: string | number | boolean; ok: boolean }[] = [
  { name: 'force: true is a valid condition', param: 'force', value: true, ok: true },
  { name: 'force: "false" is a valid condition', param: 'force', value: 'false', ok: true },
  { name: 'force: "1" could never match', param: 'force', value: '1', ok: false },
  { name: 'tty: "True" could never match', param: 'tty', value: 'True', ok: false },
  { name: 'stdin: 1 could never match', param: 'stdin', value: 1, ok: false },
  { name: 'gracePeriodSeconds: 0 is valid', param: 'gracePeriodSeconds', value: 0, ok: true },
  { name: 'gracePeriodSeconds: "30" is valid', param: 'gracePeriodSeconds', value: '30', ok: true },
  { name: 'gracePeriodSeconds: "+0" could never match', param: 'gracePeriodSeconds', value: '+0', ok: false },
  { name: 'tailLines: "007" could never match', param: 'tailLines', value: '007', ok: false },
  { name: 'limit: 1.5 could never match', param: 'limit', value: 1.5, ok: false },
  { name: 'an integer pattern is valid', param: 'gracePeriodSeconds', value: 're:[0-9]', ok: true },
  { name: 'a glob over an integer is valid', param: 'tailLines', value: '1*', ok: true },
  { name: 'an untyped parameter takes any value', param: 'propagationPolicy', value: 'Orphan', ok: true },
];

for (const row of policyRows) {
  test(`policy value: ${row.name}`, () => {
    assert.equal(policyValueProblem(row.param, row.value) === null, row.ok);
  });
}
