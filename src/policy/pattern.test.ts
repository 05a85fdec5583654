import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePattern, matchGeneratedName, patternSet } from './pattern.js';
import type { Pattern, Possibly } from './pattern.js';

const rows: readonly { name: string; input: { pattern: string; value: string }; want: boolean }[] = [
  { name: 'a literal matches itself', input: { pattern: 'prod', value: 'prod' }, want: true },
  {
    name: 'a literal does not match a longer value',
    input: { pattern: 'prod', value: 'prod-1' },
    want: false,
  },
  { name: 'a trailing star matches any suffix', input: { pattern: 'prod*', value: 'prod-eu-1' }, want: true },
  { name: 'a trailing star matches no suffix', input: { pattern: 'prod*', value: 'prod' }, want: true },
  {
    name: 'a leading star matches any prefix',
    input: { pattern: '*-prod', value: 'team-a-prod' },
    want: true,
  },
  { name: 'a star alone matches the empty string', input: { pattern: '*', value: '' }, want: true },
  {
    name: 'a question mark needs exactly one character',
    input: { pattern: 'a?c', value: 'ac' },
    want: false,
  },
  { name: 'a question mark matches one character', input: { pattern: 'a?c', value: 'abc' }, want: true },
  { name: 'glob dots are literal', input: { pattern: 'a.b*', value: 'axb' }, want: false },
  { name: 'glob brackets are literal', input: { pattern: '[ab]*', value: '[ab]x' }, want: true },
  {
    name: 'a glob with a dash and a star works',
    input: { pattern: 'team-*-prod', value: 'team-x-prod' },
    want: true,
  },
  {
    name: 'a regular expression must match the whole value',
    input: { pattern: 're:pro', value: 'prod' },
    want: false,
  },
  {
    name: 'a regular expression matching the whole value matches',
    input: { pattern: 're:pro.', value: 'prod' },
    want: true,
  },
  {
    name: 'regular expression alternatives are anchored together',
    input: { pattern: 're:a|b', value: 'ab' },
    want: false,
  },
];

for (const row of rows) {
  test(row.name, () => {
    const compiled = compilePattern(row.input.pattern);
    assert.ok(compiled.ok);
    assert.equal(compiled.pattern.test(row.input.value), row.want);
  });
}

test('a pattern without wildcards is reported as a literal, for the index', () => {
  const compiled = compilePattern('staging');
  assert.ok(compiled.ok);
  assert.equal(compiled.pattern.literal, 'staging');
});

test('a trailing-star glob is reported with its prefix, for the index', () => {
  const compiled = compilePattern('team-a-*');
  assert.ok(compiled.ok);
  assert.equal(compiled.pattern.prefix, 'team-a-');
});

const prefixRows: readonly { name: string; input: string; want: string | null }[] = [
  {
    name: 'a regular expression is indexed by its leading literal text',
    input: 're:team-a-(dev|staging)',
    want: 'team-a-',
  },
  {
    name: 'a top-level alternative leaves a regular expression without a prefix',
    input: 're:prod|staging',
    want: '',
  },
  { name: 'a quantified character is not part of the prefix', input: 're:abc?d', want: 'ab' },
  { name: 'a leading caret is skipped', input: 're:^prod-[0-9]+', want: 'prod-' },
  { name: 'an escape ends the prefix', input: 're:prod\\.x', want: 'prod' },
  { name: 'a glob with an inner star has no prefix', input: 'team-*-prod', want: null },
];

for (const row of prefixRows) {
  test(row.name, () => {
    const compiled = compilePattern(row.input);
    assert.ok(compiled.ok);
    assert.equal(compiled.pattern.prefix, row.want);
  });
}

test('a re: expression matches across newlines, as a padded exec command would need', () => {
  const compiled = compilePattern('re:rm .*');
  assert.ok(compiled.ok);
  assert.equal(compiled.pattern.test('rm \n-rf /'), true);
  assert.equal(compiled.pattern.test('ls \nrm -rf /'), false, 'still anchored at the start');
});

function set(...sources: string[]) {
  return patternSet(
    sources.map((s): Pattern => {
      const compiled = compilePattern(s);
      if (!compiled.ok) throw new Error(compiled.message);
      return compiled.pattern;
    }),
  );
}

const generatedRows: readonly { name: string; patterns: string[]; generateName: string; want: Possibly }[] = [
  {
    name: 'a prefix glob the base starts with always matches',
    patterns: ['critical-*'],
    generateName: 'critical-db-',
    want: 'yes',
  },
  {
    name: 'a prefix glob longer than the base may match',
    patterns: ['critical-*'],
    generateName: 'crit',
    want: 'maybe',
  },
  {
    name: 'a prefix glob the base diverges from never matches',
    patterns: ['critical-*'],
    generateName: 'web-',
    want: 'no',
  },
  {
    name: 'a literal of the generated shape may match',
    patterns: ['web-bcd2f'],
    generateName: 'web-',
    want: 'maybe',
  },
  {
    name: 'a literal with a vowel in the suffix never matches',
    patterns: ['web-abcde'],
    generateName: 'web-',
    want: 'no',
  },
  {
    name: 'a literal of another length never matches',
    patterns: ['web-x'],
    generateName: 'web-',
    want: 'no',
  },
  {
    name: 'a regular expression that could match says maybe',
    patterns: ['re:.*-db-.*'],
    generateName: 'a-db-',
    want: 'maybe',
  },
  {
    name: 'a regular expression with a diverging prefix never matches',
    patterns: ['re:prod-.*'],
    generateName: 'web-',
    want: 'no',
  },
  {
    name: 'the base is cut to 58 characters first',
    patterns: [`${'a'.repeat(58)}*`],
    generateName: `${'a'.repeat(58)}zzz`,
    want: 'yes',
  },
  { name: 'a star alone always matches', patterns: ['*'], generateName: 'x-', want: 'yes' },
];

for (const row of generatedRows) {
  test(`generateName: ${row.name}`, () => {
    assert.equal(matchGeneratedName(set(...row.patterns), row.generateName), row.want);
  });
}
