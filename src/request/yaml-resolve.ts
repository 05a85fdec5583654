// The type of a plain (unquoted, untagged) YAML scalar, decided exactly as the API server decides
// it: sigs.k8s.io/yaml v1.6.0 reads YAML with go.yaml.in/yaml/v2 v2.4.2, whose resolve.go gives a
// plain scalar its type (the kube-apiserver v1.34.4 build pins both; read from the Go module
// cache the test bed builds from). npm `yaml`'s YAML 1.1 schema resolves many of them otherwise:
// `0o17` and `09` are strings there but 15 and 9 (a float) to the API server, `0b-101` is -5,
// `1_0.5` is 10.5, `1e400` overflows to a string.
//
// Place in the pipeline: called by yaml-body.ts for every plain scalar of a YAML request body.
// Input: the scalar's text. Output: its go-yaml type and value. Pure; never throws.
//
// resolve(tag="", in), in order:
//   1. "" , "~", "null", "Null", "NULL" → null; y/Y/yes/Yes/YES/true/True/TRUE/on/On/ON → true;
//      n/N/no/No/NO/false/False/FALSE/off/Off/OFF → false; .nan/.inf/+.inf/-.inf (3 spellings
//      each) → NaN/±Inf. This table is consulted only when the first byte is one of
//      `+-0123456789yYnNtTfFoO~.` (so `<<` is a string here; as a key it is a merge key instead).
//   2. first byte `.`: strconv.ParseFloat(in, 64), else a string.
//   3. first byte a digit or sign: a timestamp (YYYY-…) stays its text, which is the string it
//      would be anyway; then with every `_` removed: strconv.ParseInt(s, 0, 64) (sign, 0b/0o/0x
//      prefixes, a leading 0 means octal), strconv.ParseUint(s, 0, 64), ParseFloat(s) when s
//      matches yamlStyleFloat, and last ParseInt of what follows a `0b` or `-0b` prefix in base 2.
//   4. anything else is a string.
// Go's ParseFloat fails on overflow (the scalar stays a string) but not on underflow (0).

export type GoYamlScalar =
  | { readonly type: 'null' }
  | { readonly type: 'bool'; readonly value: boolean }
  /** int or int64 in go-yaml; uint64 when it fits only there. */
  | { readonly type: 'int' | 'uint'; readonly value: bigint }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string };

const NULL: GoYamlScalar = { type: 'null' };
const TRUE: GoYamlScalar = { type: 'bool', value: true };
const FALSE: GoYamlScalar = { type: 'bool', value: false };

function entries(words: readonly string[], value: GoYamlScalar): [string, GoYamlScalar][] {
  return words.map((w) => [w, value]);
}

const RESOLVE_MAP: ReadonlyMap<string, GoYamlScalar> = new Map([
  ...entries(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'], TRUE),
  ...entries(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'], FALSE),
  ...entries(['', '~', 'null', 'Null', 'NULL'], NULL),
  ...entries(['.nan', '.NaN', '.NAN'], { type: 'float', value: NaN }),
  ...entries(['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'], { type: 'float', value: Infinity }),
  ...entries(['-.inf', '-.Inf', '-.INF'], { type: 'float', value: -Infinity }),
]);

/** resolveTable: the hint for a first byte; '' means "always a string". */
function hint(first: number): 'S' | 'D' | 'M' | '.' | '' {
  if (first === 0x2b || first === 0x2d) return 'S';
  if (first >= 0x30 && first <= 0x39) return 'D';
  if (first === 0x2e) return '.';
  // yYnNtTfFoO~
  if ('yYnNtTfFoO~'.includes(String.fromCharCode(first))) return 'M';
  return '';
}

const MAX_INT64 = (1n << 63n) - 1n;
const MAX_UINT64 = (1n << 64n) - 1n;

function lower(c: number): number {
  return c | 0x20;
}

/** strconv's underscoreOK: underscores only between digits (a base prefix counts as a digit). */
function underscoreOK(text: string): boolean {
  let s = text;
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(String.fromCharCode(lower(s.charCodeAt(1))))) {
    i = 2;
    saw = '0';
    hex = lower(s.charCodeAt(1)) === 0x78;
  }
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x30 && c <= 0x39) || (hex && lower(c) >= 0x61 && lower(c) <= 0x66)) {
      saw = '0';
      continue;
    }
    if (c === 0x5f) {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseUint(s, base, 64); null on any error (syntax or range). */
function parseUint(text: string, base: number): bigint | null {
  if (text === '') return null;
  let s = text;
  let b = base;
  const base0 = base === 0;
  if (base0) {
    b = 10;
    if (s[0] === '0') {
      const second = s.length >= 3 ? lower(s.charCodeAt(1)) : 0;
      if (second === 0x62) [b, s] = [2, s.slice(2)];
      else if (second === 0x6f) [b, s] = [8, s.slice(2)];
      else if (second === 0x78) [b, s] = [16, s.slice(2)];
      else [b, s] = [8, s.slice(1)];
    }
  }
  let underscores = false;
  let n = 0n;
  const bigBase = BigInt(b);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c === 0x5f && base0) {
      underscores = true;
      continue;
    } else if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (lower(c) >= 0x61 && lower(c) <= 0x7a) d = lower(c) - 0x61 + 10;
    else return null;
    if (d >= b) return null;
    n = n * bigBase + BigInt(d);
    if (n > MAX_UINT64) return null;
  }
  if (underscores && !underscoreOK(text)) return null;
  return n;
}

/** strconv.ParseInt(s, base, 64); null on any error. */
function parseInt64(text: string, base: number): bigint | null {
  if (text === '') return null;
  let s = text;
  let negative = false;
  if (s[0] === '+') s = s.slice(1);
  else if (s[0] === '-') [negative, s] = [true, s.slice(1)];
  const magnitude = parseUint(s, base);
  if (magnitude === null) return null;
  if (!negative && magnitude > MAX_INT64) return null;
  if (negative && magnitude > MAX_INT64 + 1n) return null;
  return negative ? -magnitude : magnitude;
}

// A decimal float as Go's readFloat accepts it: sign, digits with at most one dot, an optional
// exponent; underscores anywhere among them, checked by underscoreOK afterwards. Hexadecimal
// floats and inf/nan words never reach ParseFloat here: the first byte is `.`, or the text
// matched yamlStyleFloat, which has neither.
const GO_DECIMAL_FLOAT = /^[+-]?(?=_*[0-9._]*[0-9])[0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9][0-9_]*)?$/u;

/** strconv.ParseFloat(s, 64) for decimal text; null on a syntax error or an overflow. */
function parseFloat64(s: string): number | null {
  if (!GO_DECIMAL_FLOAT.test(s)) return null;
  if (s.includes('_') && !underscoreOK(s)) return null;
  // JavaScript's Number() rounds a decimal string correctly, as Go does.
  const value = Number(s.replaceAll('_', ''));
  return Number.isFinite(value) ? value : null; // Go: ±Inf with ErrRange, an error
}

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/u;

function int(value: bigint): GoYamlScalar {
  return { type: 'int', value };
}

/** go-yaml v2's resolve("", text) for a plain scalar. */
export function resolvePlainScalar(text: string): GoYamlScalar {
  const h = text === '' ? 'M' : hint(text.charCodeAt(0));
  if (h === '') return { type: 'string', value: text };
  const known = RESOLVE_MAP.get(text);
  if (known !== undefined) return known;
  if (h === '.') {
    const f = parseFloat64(text);
    if (f !== null) return { type: 'float', value: f };
  } else if (h === 'D' || h === 'S') {
    const plain = text.replaceAll('_', '');
    const i = parseInt64(plain, 0);
    if (i !== null) return int(i);
    const u = parseUint(plain, 0);
    if (u !== null) return { type: 'uint', value: u };
    if (YAML_STYLE_FLOAT.test(plain)) {
      const f = parseFloat64(plain);
      if (f !== null) return { type: 'float', value: f };
    }
    if (plain.startsWith('0b')) {
      const b = parseInt64(plain.slice(2), 2);
      if (b !== null) return int(b);
      const ub = parseUint(plain.slice(2), 2);
      if (ub !== null) return { type: 'uint', value: ub };
    } else if (plain.startsWith('-0b')) {
      const b = parseInt64(`-${plain.slice(3)}`, 2);
      if (b !== null) return int(b);
    }
  }
  return { type: 'string', value: text };
}
