// Table tests for apimachinery's query-parameter conversions (runtime.Convert_Slice_string_To_bool,
// url.Values → ListOptions) as requestinfo.go and the delete handler use them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGoQuery } from './go-query.js';
import { decodeListOptions, queryBool, queryBoolFallback } from './list-options.js';

const boolRows: { name: string; input: string[]; want: { decoded: boolean; fallback: boolean } }[] = [
  { name: 'no value is false', input: [], want: { decoded: false, fallback: false } },
  { name: 'the empty string is true', input: [''], want: { decoded: true, fallback: true } },
  { name: '"true" is true', input: ['true'], want: { decoded: true, fallback: true } },
  { name: '"1" is true', input: ['1'], want: { decoded: true, fallback: true } },
  { name: '"0" is false', input: ['0'], want: { decoded: false, fallback: false } },
  { name: '"false" is false', input: ['false'], want: { decoded: false, fallback: false } },
  { name: '"FaLsE" is false', input: ['FaLsE'], want: { decoded: false, fallback: false } },
  { name: '"no" is true', input: ['no'], want: { decoded: true, fallback: true } },
  { name: '"00" is true', input: ['00'], want: { decoded: true, fallback: true } },
  { name: '" false" with a space is true', input: [' false'], want: { decoded: true, fallback: true } },
  {
    name: '"falſe" is false when decoded (EqualFold) but true in the fallback (ToLower)',
    input: ['fal\u017fe'],
    want: { decoded: false, fallback: true },
  },
  {
    name: 'only the first value counts',
    input: ['false', 'true'],
    want: { decoded: false, fallback: false },
  },
];

for (const row of boolRows) {
  test(row.name, () => {
    assert.deepEqual({ decoded: queryBool(row.input), fallback: queryBoolFallback(row.input) }, row.want);
  });
}

const decodeRows: {
  name: string;
  input: string;
  want: { error: boolean; watch: boolean; fields: number; labels: number };
}[] = [
  { name: 'an empty query decodes', input: '', want: { error: false, watch: false, fields: 0, labels: 0 } },
  {
    name: 'kubectl get -l with limit decodes',
    input: 'labelSelector=app%3Ddemo&limit=500',
    want: { error: false, watch: false, fields: 0, labels: 1 },
  },
  {
    name: 'a kubectl watch with a field selector and timeout decodes',
    input: 'fieldSelector=metadata.name%3Dfoo&resourceVersion=0&timeoutSeconds=300&watch=true',
    want: { error: false, watch: true, fields: 1, labels: 0 },
  },
  {
    name: 'a non-integer limit does not decode',
    input: 'limit=ten',
    want: { error: true, watch: false, fields: 0, labels: 0 },
  },
  {
    name: 'an empty limit does not decode',
    input: 'limit=',
    want: { error: true, watch: false, fields: 0, labels: 0 },
  },
  {
    name: 'a non-integer timeoutSeconds does not decode',
    input: 'timeoutSeconds=1.5',
    want: { error: true, watch: false, fields: 0, labels: 0 },
  },
  {
    name: 'an invalid field selector does not decode',
    input: 'fieldSelector=foo',
    want: { error: true, watch: false, fields: 0, labels: 0 },
  },
  {
    name: 'an invalid label selector does not decode',
    input: 'labelSelector=a%3D%3D%3Db',
    want: { error: true, watch: false, fields: 0, labels: 0 },
  },
  {
    name: 'an unknown parameter is ignored',
    input: 'frobnicate=%00',
    want: { error: false, watch: false, fields: 0, labels: 0 },
  },
  {
    name: 'sendInitialEvents and allowWatchBookmarks never fail the decode',
    input: 'sendInitialEvents=maybe&allowWatchBookmarks=&watch=1',
    want: { error: false, watch: true, fields: 0, labels: 0 },
  },
];

for (const row of decodeRows) {
  test(row.name, () => {
    const got = decodeListOptions(parseGoQuery(row.input));
    assert.deepEqual(
      {
        error: got.error !== null,
        watch: got.watch,
        fields: got.fieldRequirements.length,
        labels: got.labelRequirements.length,
      },
      row.want,
    );
  });
}
