// Table tests for Go's net/url query rules (url.ParseQuery, QueryUnescape, PathUnescape).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstValue, parseGoQuery, pathUnescape, queryUnescape } from './go-query.js';

const queryRows: { name: string; input: string; want: Record<string, string[]> }[] = [
  { name: 'an empty query has no parameters', input: '', want: {} },
  { name: 'a simple pair is read', input: 'watch=true', want: { watch: ['true'] } },
  { name: 'repeated keys keep every value in order', input: 'a=1&a=2&a=3', want: { a: ['1', '2', '3'] } },
  { name: 'a key without = has the empty value', input: 'watch', want: { watch: [''] } },
  { name: 'a key with = and nothing after has the empty value', input: 'watch=', want: { watch: [''] } },
  {
    name: 'a + is a space in keys and values',
    input: 'labelSelector=a+b&x+y=1',
    want: { labelSelector: ['a b'], 'x y': ['1'] },
  },
  { name: 'an escaped plus stays a plus', input: 'a=%2B', want: { a: ['+'] } },
  { name: 'percent escapes decode in keys and values', input: '%77atch=%74rue', want: { watch: ['true'] } },
  { name: 'escaped UTF-8 decodes to text', input: 'name=f%C3%B6o', want: { name: ['föo'] } },
  {
    name: 'a pair containing ; is dropped whole',
    input: 'watch=true;labelSelector=a&limit=5',
    want: { limit: ['5'] },
  },
  { name: 'a ; in a key drops the pair too', input: 'a;b=1&c=2', want: { c: ['2'] } },
  {
    name: 'a pair with a bad escape in its value is dropped',
    input: 'fieldSelector=a&x=%zz',
    want: { fieldSelector: ['a'] },
  },
  { name: 'a pair with a bad escape in its key is dropped', input: '%zz=1&b=2', want: { b: ['2'] } },
  { name: 'a truncated escape at the end drops its pair', input: 'a=1&b=%4', want: { a: ['1'] } },
  { name: 'empty pairs between ampersands are skipped', input: '&&a=1&&', want: { a: ['1'] } },
  { name: 'a pair starting with = has the empty key', input: '=x', want: { '': ['x'] } },
  {
    name: 'only the first = splits a pair',
    input: 'fieldSelector=metadata.name=x',
    want: { fieldSelector: ['metadata.name=x'] },
  },
  { name: 'a raw ? is data in the query', input: 'a=b?c', want: { a: ['b?c'] } },
  { name: 'a __proto__ key is an ordinary key', input: '__proto__=x', want: { ['__proto__']: ['x'] } },
];

for (const row of queryRows) {
  test(row.name, () => {
    const got = parseGoQuery(row.input);
    assert.equal(Object.getPrototypeOf(got), null);
    assert.deepEqual({ ...got }, row.want);
    assert.deepEqual(Object.keys(got), Object.keys(row.want));
  });
}

test('keys keep the order of their first appearance', () => {
  assert.deepEqual(Object.keys(parseGoQuery('b=1&a=2&b=3&c=4')), ['b', 'a', 'c']);
});

test('the first value of a repeated key is the one Go reads', () => {
  const q = parseGoQuery('watch=false&watch=true');
  assert.equal(firstValue(q, 'watch'), 'false');
  assert.equal(firstValue(q, 'absent'), undefined);
});

const unescapeRows: { name: string; input: string; want: { query: string | null; path: string | null } }[] = [
  { name: 'plain text is unchanged', input: 'abc', want: { query: 'abc', path: 'abc' } },
  { name: 'a plus is a space only in a query', input: 'a+b', want: { query: 'a b', path: 'a+b' } },
  { name: 'an escaped slash decodes in both', input: 'a%2Fb', want: { query: 'a/b', path: 'a/b' } },
  { name: 'lower-case hex digits are accepted', input: '%2f', want: { query: '/', path: '/' } },
  { name: 'an escaped percent decodes once', input: '%2525', want: { query: '%25', path: '%25' } },
  { name: 'a non-hex escape is an error', input: '%zz', want: { query: null, path: null } },
  { name: 'a lone percent is an error', input: '%', want: { query: null, path: null } },
  { name: 'an escape cut short is an error', input: 'a%4', want: { query: null, path: null } },
  { name: 'an escaped NUL decodes', input: '%00', want: { query: '\0', path: '\0' } },
  { name: 'escaped UTF-8 decodes', input: '%C3%BC', want: { query: 'ü', path: 'ü' } },
  {
    name: 'invalid UTF-8 decodes lossily to U+FFFD',
    input: '%FFa',
    want: { query: '\ufffda', path: '\ufffda' },
  },
];

for (const row of unescapeRows) {
  test(row.name, () => {
    assert.equal(queryUnescape(row.input), row.want.query);
    assert.equal(pathUnescape(row.input), row.want.path);
  });
}
