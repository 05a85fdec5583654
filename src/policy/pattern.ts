// Name patterns for policy rules (namespaces, names, users, groups, apiGroups, query values).
// Input: the pattern text from a policy document. Output: a compiled matcher, or a message
// saying why the pattern is invalid. Must never throw on user input, and must never match more
// than the documented syntax says: a glob is anchored at both ends, a `re:` expression must
// match the whole string (the API server compares whole names, so a partial match would let
// `re:prod` catch `not-prod-at-all`).
//
// Syntax:
//   `*`  any run of characters (also none), `?` exactly one character, anything else literal.
//   `re:<expression>`  a JavaScript regular expression (u and s flags: `.` matches a newline too,
//                      so `re:rm .*` still catches an exec command padded with a line break)
//                      that must match the whole value.

/** A compiled pattern. `literal` is set when the pattern is a plain string (indexable). */
export interface Pattern {
  readonly source: string;
  readonly literal: string | null;
  /** Text every match starts with (`abc*` globs, most `re:abc…` expressions): indexable by prefix. */
  readonly prefix: string | null;
  readonly test: (value: string) => boolean;
}

export type PatternResult =
  { readonly ok: true; readonly pattern: Pattern } | { readonly ok: false; readonly message: string };

const RE_PREFIX = 're:';

export function compilePattern(source: string): PatternResult {
  if (source.startsWith(RE_PREFIX)) {
    const expression = source.slice(RE_PREFIX.length);
    if (expression === '') return { ok: false, message: '"re:" needs a regular expression after it' };
    let re: RegExp;
    try {
      // Anchored in a non-capturing group so that `re:a|b` means `^(a|b)$`, not `^a|b$`.
      re = new RegExp(`^(?:${expression})$`, 'su');
    } catch (err) {
      // V8 says "Invalid regular expression: /<our wrapped source>/su: <reason>"; keep the reason.
      const detail = err instanceof SyntaxError ? (/: ([^:]+)$/u.exec(err.message)?.[1] ?? err.message) : '';
      return { ok: false, message: `${JSON.stringify(source)} is not a valid regular expression: ${detail}` };
    }
    const prefix = regExpLiteralPrefix(expression);
    return { ok: true, pattern: { source, literal: null, prefix, test: (v) => re.test(v) } };
  }
  const star = source.indexOf('*');
  const question = source.indexOf('?');
  if (star === -1 && question === -1) {
    return { ok: true, pattern: { source, literal: source, prefix: null, test: (v) => v === source } };
  }
  if (question === -1 && star === source.length - 1) {
    // `prefix*`: the common shape (`prod*`, `team-a-*`); cheaper than a RegExp and indexable.
    const prefix = source.slice(0, -1);
    return { ok: true, pattern: { source, literal: null, prefix, test: (v) => v.startsWith(prefix) } };
  }
  const re = new RegExp(`^${globToRegExpSource(source)}$`, 'su');
  return { ok: true, pattern: { source, literal: null, prefix: null, test: (v) => re.test(v) } };
}

const REGEXP_SYNTAX = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}']);
const QUANTIFIERS = new Set(['?', '*', '+', '{']);

/**
 * The literal text every match of a regular expression starts with ('' when none), so that
 * `re:team-a-(dev|staging)` is indexed under "team-a-" like the glob `team-a-*`. Conservative:
 * a top-level `|` means no common prefix, and a character followed by a quantifier is not part
 * of it.
 */
function regExpLiteralPrefix(expression: string): string {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) return '';
  }
  const body = expression.startsWith('^') ? expression.slice(1) : expression;
  let end = 0;
  while (end < body.length && !REGEXP_SYNTAX.has(body[end] ?? '')) end++;
  if (end < body.length && QUANTIFIERS.has(body[end] ?? '')) end--;
  return body.slice(0, Math.max(0, end));
}

function globToRegExpSource(glob: string): string {
  let out = '';
  for (const ch of glob) {
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return out;
}

/** A set of patterns: matches when any pattern matches. Literals are checked with one Set lookup. */
export interface PatternSet {
  readonly sources: readonly string[];
  readonly literals: ReadonlySet<string>;
  readonly others: readonly Pattern[];
  readonly test: (value: string) => boolean;
}

export function patternSet(patterns: readonly Pattern[]): PatternSet {
  const literals = new Set<string>();
  const others: Pattern[] = [];
  for (const p of patterns) {
    if (p.literal !== null) literals.add(p.literal);
    else others.push(p);
  }
  const test =
    others.length === 0
      ? (v: string) => literals.has(v)
      : (v: string) => {
          if (literals.has(v)) return true;
          for (const p of others) if (p.test(v)) return true;
          return false;
        };
  return { sources: patterns.map((p) => p.source), literals, others, test };
}

/** Three-valued: every value matches, none does, or some may. */
export type Possibly = 'yes' | 'no' | 'maybe';

// names.SimpleNameGenerator (k8s.io/apiserver/pkg/storage/names): generateName cut to 58
// characters, then 5 characters from utilrand's alphabet.
const GENERATED_SUFFIX = 5;
const MAX_GENERATE_NAME = 63 - GENERATED_SUFFIX;
const GENERATED_ALPHABET = /^[bcdfghjklmnpqrstvwxz2456789]{5}$/u;

/**
 * Whether the name the API server will generate from `generateName` matches the set. Exact for
 * literals and `prefix*` globs; any other pattern that could match says 'maybe'.
 */
export function matchGeneratedName(set: PatternSet, generateName: string): Possibly {
  const base = generateName.slice(0, MAX_GENERATE_NAME);
  let result: Possibly = 'no';
  for (const literal of set.literals) {
    if (
      literal.length === base.length + GENERATED_SUFFIX &&
      literal.startsWith(base) &&
      GENERATED_ALPHABET.test(literal.slice(base.length))
    )
      result = 'maybe';
  }
  for (const p of set.others) {
    const prefix = p.prefix;
    // A pattern whose matches all start with `prefix` cannot match a name that diverges from it.
    if (prefix !== null && !base.startsWith(prefix) && !prefix.startsWith(base)) continue;
    if (prefix !== null && p.source === `${prefix}*` && base.startsWith(prefix)) return 'yes';
    result = 'maybe';
  }
  return result;
}

/** Whether the set matches every value whatever it is (a bare `*`): then an unknown value matches. */
export function matchesEveryValue(set: PatternSet): boolean {
  return set.others.some((p) => p.source === '*');
}
