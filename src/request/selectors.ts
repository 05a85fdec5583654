// Label and field selector parsers: a behavioural port of apimachinery's labels.Parse
// (pkg/labels/selector.go) and fields.ParseSelector (pkg/fields/selector.go).
//
// Place in the pipeline: used by parse (canonical checks and the API server's metadata.name
// shortcut) and by the policy engine (`selector`, `fieldSelector` rule fields).
// Input: the raw, already query-decoded selector string (Go's first query value).
// Output: the requirement list the API server would build, or a SelectorError.
// Must never: accept a selector the API server rejects, or read one differently. Every quirk of
// the upstream lexers is kept on purpose (byte-wise lexing, NUL ends the label lexer, `in ()`
// means the empty value, field terms are sorted before use), because a policy that reads a
// selector differently from the API server can be evaded.

/** Operators of a label requirement, named as in apimachinery's selection.Operator docs. */
export type LabelOperator =
  | 'In'
  | 'NotIn'
  | 'Exists'
  | 'DoesNotExist'
  | 'Equals'
  | 'DoubleEquals'
  | 'NotEquals'
  | 'GreaterThan'
  | 'LessThan';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted and de-duplicated, as sets.String.List() returns them upstream. Empty for Exists/DoesNotExist. */
  readonly values: readonly string[];
}

export type FieldOperator = 'Equals' | 'DoubleEquals' | 'NotEquals';

export interface FieldRequirement {
  readonly field: string;
  readonly operator: FieldOperator;
  /** The value with the field-selector escapes (`\\`, `\,`, `\=`) undone. */
  readonly value: string;
}

/** A selector the API server would refuse. The message names the problem. */
export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

// ---------------------------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------------------------

const enum Tok {
  Error,
  EndOfString,
  ClosedPar,
  Comma,
  DoesNotExist,
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
}

interface Item {
  readonly tok: Tok;
  readonly lit: string;
}

function literalToken(s: string): Tok | undefined {
  switch (s) {
    case ')':
      return Tok.ClosedPar;
    case ',':
      return Tok.Comma;
    case '!':
      return Tok.DoesNotExist;
    case '==':
      return Tok.DoubleEquals;
    case '=':
      return Tok.Equals;
    case '>':
      return Tok.GreaterThan;
    case 'in':
      return Tok.In;
    case '<':
      return Tok.LessThan;
    case '!=':
      return Tok.NotEquals;
    case 'notin':
      return Tok.NotIn;
    case '(':
      return Tok.OpenPar;
    default:
      return undefined;
  }
}

// Upstream whitespace is exactly space, tab, CR and LF.
function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function isSpecialSymbol(c: number): boolean {
  // = ! ( ) , > <
  return c === 0x3d || c === 0x21 || c === 0x28 || c === 0x29 || c === 0x2c || c === 0x3e || c === 0x3c;
}

/**
 * The upstream lexer. `read` returns 0 at the end of input, and a NUL character in the input
 * reads as 0 too: it ends an identifier and, at the start of a token, ends the whole selector.
 */
function lex(s: string): Item[] {
  let pos = 0;
  const items: Item[] = [];
  for (;;) {
    // read(): the next character, or 0 at the end of input (where pos stays put).
    let ch = pos < s.length ? s.charCodeAt(pos++) : 0;
    while (isWhitespace(ch)) ch = pos < s.length ? s.charCodeAt(pos++) : 0;
    let item: Item;
    if (ch === 0) {
      item = { tok: Tok.EndOfString, lit: '' };
    } else if (isSpecialSymbol(ch)) {
      pos--;
      // Longest run of special symbols that stays a known token (`!` → `!=`, `=` → `==`).
      let buffer = '';
      let last: Item | undefined;
      for (;;) {
        const c = pos < s.length ? s.charCodeAt(pos++) : 0;
        if (c === 0) break;
        if (!isSpecialSymbol(c)) {
          pos--;
          break;
        }
        buffer += String.fromCharCode(c);
        const tok = literalToken(buffer);
        if (tok !== undefined) {
          last = { tok, lit: buffer };
        } else if (last !== undefined) {
          pos--;
          break;
        }
      }
      item = last ?? { tok: Tok.Error, lit: `error expected: keyword found '${buffer}'` };
    } else {
      pos--;
      const start = pos;
      let end: number;
      for (;;) {
        if (pos >= s.length) {
          end = pos;
          break;
        }
        const c = s.charCodeAt(pos);
        if (c === 0) {
          // Upstream's read() consumes a NUL and reports it as the end of the identifier.
          end = pos++;
          break;
        }
        if (isSpecialSymbol(c) || isWhitespace(c)) {
          end = pos;
          break;
        }
        pos++;
      }
      const lit = s.slice(start, end);
      item = { tok: literalToken(lit) ?? Tok.Identifier, lit };
    }
    items.push(item);
    if (item.tok === Tok.EndOfString) return items;
  }
}

const enum Ctx {
  KeyAndOperator,
  Values,
}

class LabelParser {
  private position = 0;
  constructor(private readonly items: readonly Item[]) {}

  // In the Values context the keywords `in` and `notin` are plain identifiers.
  private static view(item: Item, ctx: Ctx): Item {
    if (ctx === Ctx.Values && (item.tok === Tok.In || item.tok === Tok.NotIn)) {
      return { tok: Tok.Identifier, lit: item.lit };
    }
    return item;
  }

  lookahead(ctx: Ctx): Item {
    return LabelParser.view(this.items[this.position] as Item, ctx);
  }

  consume(ctx: Ctx): Item {
    const item = this.items[this.position] as Item;
    this.position++;
    return LabelParser.view(item, ctx);
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead(Ctx.Values);
      switch (tok) {
        case Tok.Identifier:
        case Tok.DoesNotExist: {
          requirements.push(this.parseRequirement());
          const next = this.consume(Ctx.Values);
          if (next.tok === Tok.EndOfString) return requirements;
          if (next.tok === Tok.Comma) {
            const after = this.lookahead(Ctx.Values);
            if (after.tok !== Tok.Identifier && after.tok !== Tok.DoesNotExist) {
              throw new SelectorError(`found '${after.lit}', expected: identifier after ','`);
            }
            break;
          }
          throw new SelectorError(`found '${next.lit}', expected: ',' or 'end of string'`);
        }
        case Tok.EndOfString:
          return requirements;
        default:
          throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private parseRequirement(): LabelRequirement {
    let operator: LabelOperator | undefined;
    let item = this.consume(Ctx.Values);
    if (item.tok === Tok.DoesNotExist) {
      operator = 'DoesNotExist';
      item = this.consume(Ctx.Values);
    }
    if (item.tok !== Tok.Identifier) {
      throw new SelectorError(`unable to parse requirement: found '${item.lit}', expected: identifier`);
    }
    const key = item.lit;
    requireLabelKey(key);
    const after = this.lookahead(Ctx.Values).tok;
    if ((after === Tok.EndOfString || after === Tok.Comma) && operator === undefined) operator = 'Exists';
    if (operator === 'Exists' || operator === 'DoesNotExist') return newRequirement(key, operator, []);

    const op = this.consume(Ctx.KeyAndOperator);
    let binary: LabelOperator;
    switch (op.tok) {
      case Tok.In:
        binary = 'In';
        break;
      case Tok.Equals:
        binary = 'Equals';
        break;
      case Tok.DoubleEquals:
        binary = 'DoubleEquals';
        break;
      case Tok.GreaterThan:
        binary = 'GreaterThan';
        break;
      case Tok.LessThan:
        binary = 'LessThan';
        break;
      case Tok.NotIn:
        binary = 'NotIn';
        break;
      case Tok.NotEquals:
        binary = 'NotEquals';
        break;
      default:
        throw new SelectorError(
          `unable to parse requirement: found '${op.lit}', expected: in, notin, =, ==, !=, gt, lt`,
        );
    }
    const values = binary === 'In' || binary === 'NotIn' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, binary, sortedSet(values));
  }

  private parseValues(): string[] {
    const open = this.consume(Ctx.Values);
    if (open.tok !== Tok.OpenPar) {
      throw new SelectorError(`unable to parse requirement: found '${open.lit}' expected: '('`);
    }
    const next = this.lookahead(Ctx.Values);
    switch (next.tok) {
      case Tok.Identifier:
      case Tok.Comma: {
        const values = this.parseIdentifiersList();
        if (this.consume(Ctx.Values).tok !== Tok.ClosedPar) {
          throw new SelectorError(`unable to parse requirement: found '${next.lit}', expected: ')'`);
        }
        return values;
      }
      case Tok.ClosedPar:
        // `x in ()` is the set holding the empty value, not an empty set.
        this.consume(Ctx.Values);
        return [''];
      default:
        throw new SelectorError(
          `unable to parse requirement: found '${next.lit}', expected: ',', ')' or identifier`,
        );
    }
  }

  private parseIdentifiersList(): string[] {
    const values: string[] = [];
    for (;;) {
      const item = this.consume(Ctx.Values);
      if (item.tok === Tok.Identifier) {
        values.push(item.lit);
        const next = this.lookahead(Ctx.Values);
        if (next.tok === Tok.Comma) continue;
        if (next.tok === Tok.ClosedPar) return values;
        throw new SelectorError(`unable to parse requirement: found '${next.lit}', expected: ',' or ')'`);
      }
      if (item.tok === Tok.Comma) {
        // Leading, trailing and doubled commas stand for the empty value.
        if (values.length === 0) values.push('');
        const next = this.lookahead(Ctx.Values).tok;
        if (next === Tok.ClosedPar) {
          values.push('');
          return values;
        }
        if (next === Tok.Comma) values.push('');
        continue;
      }
      throw new SelectorError(
        `unable to parse requirement: found '${item.lit}', expected: ',', or identifier`,
      );
    }
  }

  private parseExactValue(): string[] {
    const next = this.lookahead(Ctx.Values).tok;
    if (next === Tok.EndOfString || next === Tok.Comma) return [''];
    const item = this.consume(Ctx.Values);
    if (item.tok === Tok.Identifier) return [item.lit];
    throw new SelectorError(`unable to parse requirement: found '${item.lit}', expected: identifier`);
  }
}

function sortedSet(values: string[]): string[] {
  if (values.length < 2) return values;
  return [...new Set(values)].sort(compareGoStrings);
}

/** NewRequirement's checks (the parser only ever builds value counts that pass 1–4). */
function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  requireLabelKey(key);
  if (operator === 'GreaterThan' || operator === 'LessThan') {
    for (const v of values) {
      if (!isGoInt64(v)) {
        throw new SelectorError(
          `unable to parse requirement: values[0]: Invalid value: "${v}": for 'Gt', 'Lt' operators, the value must be an integer`,
        );
      }
    }
  }
  for (const v of values) {
    if (!isLabelValue(v)) {
      throw new SelectorError(
        `unable to parse requirement: values[0][${key}]: Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)`,
      );
    }
  }
  return { key, operator, values };
}

function requireLabelKey(key: string): void {
  if (!isLabelKey(key)) {
    throw new SelectorError(
      `unable to parse requirement: key: Invalid value: "${key}": a valid label key must be a name of at most 63 alphanumeric characters, '-', '_' or '.' that starts and ends with an alphanumeric character, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    );
  }
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters (the label key name part). */
function isQualifiedNamePart(s: string): boolean {
  if (s.length === 0 || s.length > 63) return false;
  if (!isAlnum(s.charCodeAt(0)) || !isAlnum(s.charCodeAt(s.length - 1))) return false;
  for (let i = 1; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (!isAlnum(c) && c !== 0x2d && c !== 0x5f && c !== 0x2e) return false;
  }
  return true;
}

/** content.IsLabelValue: empty, or a qualified-name part. */
export function isLabelValue(s: string): boolean {
  return s.length === 0 || isQualifiedNamePart(s);
}

/** RFC 1123 subdomain, lower case, at most 253 characters (content.IsDNS1123Subdomain). */
export function isDNS1123Subdomain(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  let labelStart = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i === s.length || s.charCodeAt(i) === 0x2e) {
      if (i === labelStart) return false;
      const first = s.charCodeAt(labelStart);
      const last = s.charCodeAt(i - 1);
      if (!isLowerAlnum(first) || !isLowerAlnum(last)) return false;
      for (let j = labelStart + 1; j < i - 1; j++) {
        const c = s.charCodeAt(j);
        if (!isLowerAlnum(c) && c !== 0x2d) return false;
      }
      labelStart = i + 1;
    }
  }
  return true;
}

function isLowerAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a);
}

/** content.IsLabelKey: `[prefix/]name`, prefix a DNS subdomain, name a qualified-name part. */
export function isLabelKey(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash === -1) return isQualifiedNamePart(s);
  if (s.indexOf('/', slash + 1) !== -1) return false;
  return isDNS1123Subdomain(s.slice(0, slash)) && isQualifiedNamePart(s.slice(slash + 1));
}

/** Go's strconv.ParseInt(s, 10, 64) succeeds: optional sign, decimal digits, within int64. */
export function isGoInt64(s: string): boolean {
  let i = 0;
  let negative = false;
  const first = s.charCodeAt(0);
  if (first === 0x2b || first === 0x2d) {
    negative = first === 0x2d;
    i = 1;
  }
  if (i >= s.length) return false;
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c < 0x30 || c > 0x39) return false;
  }
  const digits = s.length - i;
  if (digits < 19) return true;
  // Leading zeros are allowed, so compare the magnitude, not the text length.
  const magnitude = BigInt(s.slice(i));
  return negative ? magnitude <= 9223372036854775808n : magnitude <= 9223372036854775807n;
}

/**
 * labels.Parse. Requirements come back sorted by key, as upstream sorts them; requirements on the
 * same key keep their written order (upstream's sort is not stable, so it promises no order there).
 */
export function parseLabelSelector(s: string): readonly LabelRequirement[] {
  if (s === '') return [];
  const requirements = new LabelParser(lex(s)).parse();
  if (requirements.length > 1) requirements.sort((a, b) => compareGoStrings(a.key, b.key));
  return requirements;
}

// ---------------------------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------------------------

/** Split on commas that are not escaped by a backslash; the backslash stays in the term. */
function splitFieldTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inSlash) inSlash = false;
    else if (c === 0x5c) inSlash = true;
    else if (c === 0x2c) {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

function unescapeFieldValue(s: string): string {
  if (s.indexOf('\\') === -1 && s.indexOf(',') === -1 && s.indexOf('=') === -1) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=') {
      throw new SelectorError(
        `invalid field selector: unescaped character in value: ${c.codePointAt(0) ?? 0}`,
      );
    } else out += c;
  }
  if (inSlash) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/**
 * fields.ParseSelector. Terms are sorted (Go byte order) before use, exactly as upstream does,
 * which is why `fieldSelectorExactName` of `metadata.name=b,metadata.name=a` is `a`. A term whose
 * field and value are both empty (`=`) is dropped, as upstream's Transform drops it.
 */
export function parseFieldSelector(s: string): readonly FieldRequirement[] {
  const terms = splitFieldTerms(s).sort(compareGoStrings);
  const requirements: FieldRequirement[] = [];
  for (const term of terms) {
    if (term === '') continue;
    // The first operator occurrence splits the term; `!=` and `==` win over `=` at one position.
    let split = -1;
    let operator: FieldOperator = 'Equals';
    let opLength = 1;
    for (let i = 0; i < term.length; i++) {
      const c = term.charCodeAt(i);
      const next = term.charCodeAt(i + 1);
      if (c === 0x21 && next === 0x3d) {
        operator = 'NotEquals';
        opLength = 2;
      } else if (c === 0x3d && next === 0x3d) {
        operator = 'DoubleEquals';
        opLength = 2;
      } else if (c === 0x3d) {
        operator = 'Equals';
        opLength = 1;
      } else continue;
      split = i;
      break;
    }
    if (split === -1) throw new SelectorError(`invalid selector: '${s}'; can't understand '${term}'`);
    const field = term.slice(0, split);
    const value = unescapeFieldValue(term.slice(split + opLength));
    if (field === '' && value === '') continue;
    requirements.push({ field, operator, value });
  }
  return requirements;
}

/**
 * RequiresExactMatch('metadata.name'): the value of the first `=`/`==` term on metadata.name, in
 * the parser's (sorted) order, or null. `!=` terms never pin a name.
 */
export function fieldSelectorExactName(reqs: readonly FieldRequirement[]): string | null {
  return fieldSelectorExact(reqs, 'metadata.name');
}

/** The value a `=`/`==` term pins `field` to (the first, in the parser's order), or null. */
export function fieldSelectorExact(reqs: readonly FieldRequirement[], field: string): string | null {
  for (const r of reqs) {
    if (r.field === field && r.operator !== 'NotEquals') return r.value;
  }
  return null;
}

/** Go compares strings byte-wise (UTF-8), which is code-point order, not UTF-16 unit order. */
export function compareGoStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrderKey(x) - codePointOrderKey(y);
  }
  return a.length - b.length;
}

// Surrogates (code points above U+FFFF) must sort after U+E000–U+FFFF: shift them above.
function codePointOrderKey(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
