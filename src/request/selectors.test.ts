// Table tests for the label and field selector parsers. Expected values follow apimachinery's
// labels.Parse / fields.ParseSelector behaviour (pkg/labels/selector.go, pkg/fields/selector.go).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FieldRequirement, LabelRequirement } from './selectors.js';
import {
  SelectorError,
  compareGoStrings,
  fieldSelectorExactName,
  isGoInt64,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';

const req = (
  key: string,
  operator: LabelRequirement['operator'],
  values: string[] = [],
): LabelRequirement => ({
  key,
  operator,
  values,
});

const labelRows: { name: string; input: string; want: LabelRequirement[] }[] = [
  { name: 'an empty label selector selects everything', input: '', want: [] },
  { name: 'a label selector of only whitespace selects everything', input: ' \t\r\n', want: [] },
  { name: 'a single = is Equals', input: 'app=web', want: [req('app', 'Equals', ['web'])] },
  { name: '== is DoubleEquals', input: 'app==web', want: [req('app', 'DoubleEquals', ['web'])] },
  { name: '!= is NotEquals', input: 'app!=web', want: [req('app', 'NotEquals', ['web'])] },
  { name: 'a bare key is Exists', input: 'app', want: [req('app', 'Exists')] },
  { name: '!key is DoesNotExist', input: '!app', want: [req('app', 'DoesNotExist')] },
  {
    name: 'in takes a parenthesised set',
    input: 'env in (prod,dev)',
    want: [req('env', 'In', ['dev', 'prod'])],
  },
  {
    name: 'notin values are sorted and de-duplicated',
    input: 'env notin (qa,dev,qa)',
    want: [req('env', 'NotIn', ['dev', 'qa'])],
  },
  {
    name: '> is GreaterThan with an integer',
    input: 'replicas>3',
    want: [req('replicas', 'GreaterThan', ['3'])],
  },
  {
    name: '< is LessThan with an integer',
    input: 'replicas<10',
    want: [req('replicas', 'LessThan', ['10'])],
  },
  { name: 'an empty exact value is the empty string', input: 'app=', want: [req('app', 'Equals', [''])] },
  { name: 'in () is the set holding the empty value', input: 'app in ()', want: [req('app', 'In', [''])] },
  {
    name: 'doubled, leading and trailing commas in a set stand for the empty value',
    input: 'a in (,b,,c,)',
    want: [req('a', 'In', ['', 'b', 'c'])],
  },
  {
    name: 'the upstream grammar example parses',
    input: 'x in (foo,,baz),y,z notin ()',
    want: [req('x', 'In', ['', 'baz', 'foo']), req('y', 'Exists'), req('z', 'NotIn', [''])],
  },
  {
    name: 'requirements come back sorted by key',
    input: 'tier=back,app=web',
    want: [req('app', 'Equals', ['web']), req('tier', 'Equals', ['back'])],
  },
  {
    name: 'spaces around operators and commas are ignored',
    input: ' app = web , tier != db ',
    want: [req('app', 'Equals', ['web']), req('tier', 'NotEquals', ['db'])],
  },
  {
    name: 'a DNS-subdomain prefix is part of the key',
    input: 'example.com/app=web',
    want: [req('example.com/app', 'Equals', ['web'])],
  },
  {
    name: 'in and notin are plain words where a key or value is expected',
    input: 'in in (in)',
    want: [req('in', 'In', ['in'])],
  },
  { name: 'notin can be a value of an exact match', input: 'a=notin', want: [req('a', 'Equals', ['notin'])] },
  {
    name: 'a NUL at the start of a token ends the selector, as upstream lexing does',
    input: 'app=web \0,evil in (',
    want: [req('app', 'Equals', ['web'])],
  },
  {
    name: 'a value may hold dots, dashes and underscores inside',
    input: 'v=1.2_3-a',
    want: [req('v', 'Equals', ['1.2_3-a'])],
  },
  {
    name: 'a value of 63 characters is accepted',
    input: `a=${'x'.repeat(63)}`,
    want: [req('a', 'Equals', ['x'.repeat(63)])],
  },
];

for (const row of labelRows) {
  test(row.name, () => {
    assert.deepEqual(parseLabelSelector(row.input), row.want);
  });
}

const badLabelRows: { name: string; input: string; want: typeof SelectorError }[] = [
  { name: 'two values without a comma are refused', input: 'a=b c', want: SelectorError },
  { name: 'a leading comma is refused', input: ',a', want: SelectorError },
  { name: 'a trailing comma is refused', input: 'a,', want: SelectorError },
  { name: 'an unclosed set is refused', input: 'a in (b', want: SelectorError },
  { name: 'in without parentheses is refused', input: 'a in b', want: SelectorError },
  { name: 'in at the end of the input is refused', input: 'a in', want: SelectorError },
  { name: 'set values without a comma are refused', input: 'a in (b c)', want: SelectorError },
  { name: 'a negated key with an operator is refused', input: '!a=b', want: SelectorError },
  { name: 'a key starting with a dash is refused', input: '-a=b', want: SelectorError },
  { name: 'a value starting with a dash is refused', input: 'a=-b', want: SelectorError },
  { name: 'a value of 64 characters is refused', input: `a=${'x'.repeat(64)}`, want: SelectorError },
  { name: 'a key name of 64 characters is refused', input: `${'k'.repeat(64)}=b`, want: SelectorError },
  { name: 'an upper-case key prefix is refused', input: 'Example.com/a=b', want: SelectorError },
  { name: 'a key with two slashes is refused', input: 'a/b/c=d', want: SelectorError },
  { name: 'a key with an empty prefix is refused', input: '/a=b', want: SelectorError },
  { name: 'a key with an empty name is refused', input: 'a/=b', want: SelectorError },
  { name: 'a non-ASCII key is refused', input: 'ä=b', want: SelectorError },
  { name: 'gt with a non-integer is refused', input: 'a>b', want: SelectorError },
  { name: 'gt with no value is refused', input: 'a>', want: SelectorError },
  {
    name: 'lt with a negative number is refused because it is not a label value',
    input: 'a<-1',
    want: SelectorError,
  },
  {
    name: 'gt with a plus sign is refused because it is not a label value',
    input: 'a>+5',
    want: SelectorError,
  },
  { name: 'gt beyond int64 is refused', input: 'a>99999999999999999999', want: SelectorError },
  { name: 'a second = after a value is refused', input: 'a=b=c', want: SelectorError },
  { name: '=== is refused', input: 'a===b', want: SelectorError },
  { name: 'a ! between key and value is refused', input: 'a!b', want: SelectorError },
  { name: 'a parenthesised exact value is refused', input: 'a=(b)', want: SelectorError },
  { name: 'an operator with no key is refused', input: '=b', want: SelectorError },
  {
    name: 'text after a NUL inside a token is still lexed and refused',
    input: 'a=b\0c',
    want: SelectorError,
  },
];

for (const row of badLabelRows) {
  test(row.name, () => {
    assert.throws(() => parseLabelSelector(row.input), row.want);
  });
}

const f = (field: string, operator: FieldRequirement['operator'], value: string): FieldRequirement => ({
  field,
  operator,
  value,
});

const fieldRows: { name: string; input: string; want: FieldRequirement[] }[] = [
  { name: 'an empty field selector selects everything', input: '', want: [] },
  {
    name: 'a field = term is Equals',
    input: 'status.phase=Running',
    want: [f('status.phase', 'Equals', 'Running')],
  },
  { name: 'a field == term is DoubleEquals', input: 'a==b', want: [f('a', 'DoubleEquals', 'b')] },
  { name: 'a field != term is NotEquals', input: 'a!=b', want: [f('a', 'NotEquals', 'b')] },
  {
    name: 'field terms are sorted as upstream sorts them',
    input: 'spec.nodeName=n,metadata.name=x',
    want: [f('metadata.name', 'Equals', 'x'), f('spec.nodeName', 'Equals', 'n')],
  },
  { name: 'an escaped comma is data, not a separator', input: 'a=b\\,c', want: [f('a', 'Equals', 'b,c')] },
  { name: 'an escaped equals sign is data', input: 'a=b\\=c', want: [f('a', 'Equals', 'b=c')] },
  { name: 'an escaped backslash is one backslash', input: 'a=b\\\\c', want: [f('a', 'Equals', 'b\\c')] },
  { name: 'an empty field value is kept', input: 'a=', want: [f('a', 'Equals', '')] },
  { name: 'a term with an empty field and value is dropped', input: '=', want: [] },
  { name: 'a term with only a value keeps the empty field', input: '=x', want: [f('', 'Equals', 'x')] },
  {
    name: 'empty terms between commas are skipped',
    input: 'a=b,,c=d,',
    want: [f('a', 'Equals', 'b'), f('c', 'Equals', 'd')],
  },
  { name: 'whitespace is part of the field and value', input: ' a = b ', want: [f(' a ', 'Equals', ' b ')] },
  { name: 'a lone ! is data in a field value', input: 'a=b!c', want: [f('a', 'Equals', 'b!c')] },
  {
    name: 'a != before an escaped = splits at the !=',
    input: 'a!=b\\=c',
    want: [f('a', 'NotEquals', 'b=c')],
  },
];

for (const row of fieldRows) {
  test(row.name, () => {
    assert.deepEqual(parseFieldSelector(row.input), row.want);
  });
}

const badFieldRows: { name: string; input: string; want: typeof SelectorError }[] = [
  { name: 'a field term without an operator is refused', input: 'foo', want: SelectorError },
  {
    name: 'a valid term next to one without an operator is refused',
    input: 'metadata.name=name1,foo',
    want: SelectorError,
  },
  { name: 'an unescaped = in a field value is refused', input: 'a=b=c', want: SelectorError },
  { name: '!== leaves an unescaped = in the value and is refused', input: 'a!==b', want: SelectorError },
  { name: 'an unknown escape in a field value is refused', input: 'a=b\\x', want: SelectorError },
  { name: 'a field value ending in a backslash is refused', input: 'a=b\\', want: SelectorError },
];

for (const row of badFieldRows) {
  test(row.name, () => {
    assert.throws(() => parseFieldSelector(row.input), row.want);
  });
}

const exactNameRows: { name: string; input: string; want: string | null }[] = [
  { name: 'metadata.name=x pins the name x', input: 'metadata.name=x', want: 'x' },
  { name: 'metadata.name==x pins the name x', input: 'metadata.name==x', want: 'x' },
  { name: 'metadata.name!=x pins no name', input: 'metadata.name!=x', want: null },
  {
    name: 'a name ANDed with other terms is still pinned',
    input: 'spec.nodeName=n,metadata.name=x',
    want: 'x',
  },
  {
    name: 'of two name terms the first in sorted order wins',
    input: 'metadata.name=b,metadata.name=a',
    want: 'a',
  },
  {
    name: 'a != term sorted first does not hide a later = term',
    input: 'metadata.name=b,metadata.name!=a',
    want: 'b',
  },
  { name: 'an empty selector pins no name', input: '', want: null },
  { name: 'an escaped name is pinned unescaped', input: 'metadata.name=a\\,b', want: 'a,b' },
];

for (const row of exactNameRows) {
  test(row.name, () => {
    assert.equal(fieldSelectorExactName(parseFieldSelector(row.input)), row.want);
  });
}

const int64Rows: { name: string; input: string; want: boolean }[] = [
  { name: 'a plain number is an int64', input: '500', want: true },
  { name: 'a signed number is an int64', input: '-7', want: true },
  { name: 'a plus sign is accepted like strconv.ParseInt', input: '+7', want: true },
  { name: 'the largest int64 is accepted', input: '9223372036854775807', want: true },
  { name: 'the smallest int64 is accepted', input: '-9223372036854775808', want: true },
  { name: 'one past the largest int64 is refused', input: '9223372036854775808', want: false },
  { name: 'leading zeros do not count against the range', input: '00000000000000000000001', want: true },
  { name: 'the empty string is not an int64', input: '', want: false },
  { name: 'a lone sign is not an int64', input: '-', want: false },
  { name: 'an underscore is not accepted in base 10', input: '1_000', want: false },
  { name: 'a decimal point is not accepted', input: '1.5', want: false },
  { name: 'surrounding space is not accepted', input: ' 1', want: false },
];

for (const row of int64Rows) {
  test(row.name, () => {
    assert.equal(isGoInt64(row.input), row.want);
  });
}

test('strings compare in Go byte order, so a supplementary character sorts after U+FFFF', () => {
  assert.ok(compareGoStrings('\uffff', '\u{10000}') < 0);
  assert.ok(compareGoStrings('a', 'b') < 0);
  assert.ok(compareGoStrings('ab', 'a') > 0);
  assert.equal(compareGoStrings('x', 'x'), 0);
});

test('a SelectorError names the problem in its message', () => {
  assert.throws(
    () => parseLabelSelector('a in (b'),
    (err: unknown) => {
      assert.ok(err instanceof SelectorError);
      assert.equal(err.name, 'SelectorError');
      assert.match(err.message, /expected/);
      return true;
    },
  );
});
