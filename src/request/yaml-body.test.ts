// Table tests for readYamlBody. Accepted rows: `want` is what the API server's YAML conversion
// yields (checked against sigs.k8s.io/yaml v1.6.0's YAMLToJSON, the module kube-apiserver v1.34.4
// builds with; test/e2e/yaml-bodies.test.ts checks the same against the running API server).
// Refused rows: each is a form go-yaml v2 and npm yaml read differently (the comment says how the
// API server reads it), or one kubegate refuses rather than prove the same.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubegateError } from '../errors.js';
import { readYamlBody } from './yaml-body.js';

const accepted: { name: string; input: string | Buffer; want: unknown; source?: 'json' | 'yaml' }[] = [
  {
    name: 'JSON under a yaml media type is read as JSON, as kubectl sends it',
    input: '{"metadata":{"name":"web","labels":{"app":"web"}}}',
    want: { metadata: { name: 'web', labels: { app: 'web' } } },
    source: 'json',
  },
  {
    name: 'a JSON body keeps the last of duplicate keys, as go-yaml does',
    input: '{"a":1,"a":2}',
    want: { a: 2 },
    source: 'json',
  },
  {
    name: 'block YAML with comments is read',
    input: '# a comment\nmetadata:\n  name: web # trailing\n  labels:\n    app: web\n',
    want: { metadata: { name: 'web', labels: { app: 'web' } } },
  },
  {
    name: 'plain scalars take go-yaml types: yes, 0o17, 09, 1_000, ~',
    input: 'a: yes\nb: 0o17\nc: 09\nd: 1_000\ne: ~\nf: 2024-01-01\ng: off\n',
    want: { a: true, b: 15, c: 9, d: 1000, e: null, f: '2024-01-01', g: false },
  },
  {
    name: 'quoted scalars are strings whatever they look like',
    input: 'a: "yes"\nb: \'0o17\'\nc: "~"\n',
    want: { a: 'yes', b: '0o17', c: '~' },
  },
  {
    name: 'double-quoted escapes are decoded',
    input: 'a: "t\\tn\\nx\\x41u\\u00e9U\\U0001F600N\\N_\\_"\n',
    want: { a: 't\tn\nxAu\u00e9U\u{1F600}N\u0085_\u00a0' },
  },
  {
    name: "a single-quoted '' is one quote",
    input: "a: 'it''s'\n",
    want: { a: "it's" },
  },
  {
    name: 'literal and folded block scalars with every chomping indicator',
    input: 'a: |\n  x\n  y\nb: |-\n  x\nc: |+\n  x\n\nd: >\n  x\n  y\n\n  z\ne: >-\n  x\n   y\n',
    want: { a: 'x\ny\n', b: 'x', c: 'x\n\n', d: 'x y\nz\n', e: 'x\n y' },
  },
  {
    name: 'a multi-line plain scalar is folded',
    input: 'a: x\n  y\n\n  z\n',
    want: { a: 'x y\nz' },
  },
  {
    name: 'flow maps and sequences are read',
    input: 'a: [1, b, "c", {d: e}]\nf: {g: 1, h}\ni: [j: 1]\nk: {l:1}\n',
    want: { a: [1, 'b', 'c', { d: 'e' }], f: { g: 1, h: null }, i: [{ j: 1 }], k: { 'l:1': null } },
  },
  {
    name: 'keys become strings as sigs.k8s.io/yaml writes them: 1, yes, 0x10',
    input: '1: a\nyes: b\n0x10: c\n',
    want: { '1': 'a', true: 'b', '16': 'c' },
  },
  {
    name: 'a leading document marker and a final ... are one document',
    input: '---\na: 1\n...\n',
    want: { a: 1 },
  },
  {
    name: 'a UTF-8 byte order mark is skipped',
    input: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a: 1\n')]),
    want: { a: 1 },
  },
  { name: 'CRLF line ends are line breaks', input: 'a: 1\r\nb: x\r\n', want: { a: 1, b: 'x' } },
  { name: 'an empty body is null', input: '', want: null },
  { name: 'a body of comments is null', input: '# nothing\n', want: null },
  {
    name: 'a __proto__ key is an ordinary key',
    input: '__proto__: 1\n',
    want: JSON.parse('{"__proto__":1}'),
  },
];

for (const row of accepted) {
  test(row.name, () => {
    const got = readYamlBody(typeof row.input === 'string' ? Buffer.from(row.input, 'utf8') : row.input);
    assert.deepEqual(got.value, row.want);
    assert.equal(got.source, row.source ?? 'yaml');
  });
}

const refused: { name: string; input: string | Buffer; says: RegExp }[] = [
  // API server: {"metadata":{"name":"prod-db"}}.
  {
    name: 'a !!binary tag',
    input: 'metadata:\n  name: !!binary cHJvZC1kYg==\n',
    says: /tag !!binary on line 2/,
  },
  // API server: the string "1".
  { name: 'even a !!str tag', input: 'a: !!str 1\n', says: /tag !!str/ },
  // API server: the string "12" (the non-specific tag makes the scalar plain to go-yaml).
  { name: 'the non-specific ! tag', input: 'a: ! 12\n', says: /tag !/ },
  { name: 'a local tag', input: 'a: !foo x\n', says: /tag !foo/ },
  { name: 'an anchor', input: 'a: &x 1\n', says: /anchor &x/ },
  { name: 'an alias', input: 'a: &x 1\nb: *x\n', says: /anchor &x|alias \*x/ },
  // API server: b is 2; the merge key after an explicit key wins.
  { name: 'a merge key after an explicit key', input: 'b: 1\n<<: {b: 2}\n', says: /<< key/ },
  { name: 'a merge key first', input: '<<: {name: prod-db}\nname: x\n', says: /<< key/ },
  { name: 'a quoted << key too', input: '"<<": 1\n', says: /<< key/ },
  // API server: the first document only.
  { name: 'two documents', input: 'a: 1\n---\na: 2\n', says: /more than one YAML document/ },
  {
    name: 'a JSON body followed by a second document',
    input: '{"a":1}\n---\n{"a":2}\n',
    says: /more than one/,
  },
  { name: 'a %YAML directive', input: '%YAML 1.2\n---\na: 1\n', says: /directive/ },
  { name: 'a %TAG directive', input: '%TAG !e! tag:example.com,2000:\n---\na: 1\n', says: /directive/ },
  { name: 'an unknown directive', input: '%FOO bar\n---\na: 1\n', says: /directive/ },
  // API server: keys in an undefined order when 1 and "1" collide.
  { name: 'a duplicate key', input: 'a: 1\na: 2\n', says: /"a" appears twice/ },
  { name: 'keys that collide once converted', input: '1: a\n"1": b\n', says: /"1" appears twice/ },
  { name: 'a null key', input: '~: a\n', says: /key "~" .* is a null/ },
  { name: 'a float key', input: '1.5: a\n', says: /key "1.5" .* is a float/ },
  { name: 'a uint64 key', input: '9223372036854775808: a\n', says: /is a uint/ },
  { name: 'a collection key', input: '? [a]\n: x\n', says: /key that is a collection/ },
  // API server: json.Marshal fails on ±Inf and NaN.
  { name: 'an .inf value', input: 'a: .inf\n', says: /not a finite number/ },
  // API server: the string "1e400".
  { name: 'a JSON number that overflows', input: '{"a": 1e400}', says: /too large for a float64/ },
  // API server: "x" (a lone CR ends the line).
  { name: 'a lone CR', input: 'name: x\r', says: /U\+000D/ },
  { name: 'a raw NEL', input: 'a: x\u0085y\n', says: /U\+0085/ },
  { name: 'a raw LS, even in JSON', input: '{"a":"x\u2028 y"}', says: /U\+2028/ },
  { name: 'UTF-16, which go-yaml decodes', input: Buffer.from('\ufeffa: 1\n', 'utf16le'), says: /not UTF-8/ },
  // API server: ["b:", "c"].
  { name: 'a colon before a comma in a flow sequence', input: 'a: [b:, c]\n', says: /':' before ","/ },
  { name: 'a colon before a brace after a space', input: 'a: [b :]\n', says: /':' before "]"/ },
  // API server: [{"a": null}].
  { name: 'a flow scalar starting with ?', input: 'a: [?a]\n', says: /starts with \?/ },
  // API server: "x" without a final line break.
  { name: 'a block scalar at the end without a line break', input: 'a: |\n  x', says: /line break/ },
  {
    name: 'a block scalar with an indentation indicator',
    input: 'a: |2\n   x\n',
    says: /indentation indicator/,
  },
  { name: 'a block scalar as the whole body', input: '|\n  x\n', says: /block scalar/ },
  {
    name: 'a double-quoted string continued with a backslash',
    input: 'a: "x\\\n\n  y"\n',
    says: /spans several lines/,
  },
  { name: 'a single-quoted string over two lines', input: "a: 'x\n  y'\n", says: /spans several lines/ },
  // API server: "' #x".
  { name: "a quoted string npm yaml ends too early ('''…)", input: "a: '''\n#x'\n", says: /ends/ },
  // API server: ["-"]; npm yaml cannot parse it.
  { name: 'YAML that npm yaml cannot parse', input: 'a: [-]\n', says: /cannot parse it/ },
  {
    name: 'YAML nested deeper than 1000',
    input: `a: ${'['.repeat(1001)}${']'.repeat(1001)}\n`,
    says: /nest|cannot parse/,
  },
];

for (const row of refused) {
  test(`refused: ${row.name}`, () => {
    assert.throws(
      () => readYamlBody(typeof row.input === 'string' ? Buffer.from(row.input, 'utf8') : row.input),
      (err: unknown) => {
        assert.ok(err instanceof KubegateError);
        assert.equal(err.code, 'KG_REQUEST_BODY_UNSUPPORTED');
        assert.match(err.message, row.says);
        assert.match(err.message, /Send the body as JSON/);
        return true;
      },
    );
  });
}
