// readYamlBody: a request body sent as application/yaml or application/apply-patch+yaml, read as
// the API server reads it, or refused where kubegate cannot be sure it would read it the same.
//
// Place in the pipeline: called by withBody (body.ts) for creates, updates, patches and DELETE
// bodies (DeleteOptions) whose media type is YAML.
// Input: the exact body bytes. Output: the value the API server's YAML-to-JSON conversion yields
// (JSON.parse of its result), or a KG_REQUEST_BODY_UNSUPPORTED refusal. A body npm yaml cannot
// parse is refused too: go-yaml accepts some of them (`"q":_1e3`, `a: [-]`), so "unreadable"
// would leave the API server acting on an object no rule saw.
// Must never: return a value the API server could read differently. A body a policy reads (its
// name, labels, `body` in CEL) must be the body the API server acts on, or a deny on `prod-*`
// is bypassed by `name: !!binary cHJvZC1kYg==`, which the API server reads as prod-db.
//
// How the API server reads these bodies (kube-apiserver v1.34.4): the YAML serializer and the
// apply patcher call sigs.k8s.io/yaml v1.6.0's YAMLToJSON / Unmarshal, which decode the FIRST
// document with go.yaml.in/yaml/v2 v2.4.2 (YAML 1.1, libyaml's scanner) into interface{}, turn
// keys into strings (convertToJSONableObject: ints in decimal, bools as "true"/"false"; null,
// uint64 and collection keys are errors) and json.Marshal the result (NaN and ±Inf are errors).
// npm `yaml` differs from go-yaml v2 in tags (`!!binary` decodes base64; `!` makes a scalar
// plain), merge keys (`<<`, also after explicit keys), anchors and aliases, multi-document
// streams (go-yaml reads only the first), directives, and the types of plain scalars.
//
// So kubegate reads a YAML body in two ways, and refuses the rest:
//   - JSON text (what kubectl sends, even under the yaml media types) with JSON.parse. go-yaml
//     reads JSON the same way: quoted keys and strings, last duplicate key wins, true/false/null;
//     its escapes are a superset of JSON's but for `\/` and surrogate pairs, which it rejects.
//     Numbers are plain scalars to go-yaml: they resolve as JSON.parse reads them except when
//     they overflow a float64 (`1e400` stays the string "1e400"), which kubegate refuses.
//   - Other YAML with npm `yaml`'s parser, every scalar kept as its text (the failsafe schema),
//     then typed by go-yaml's own rules (yaml-resolve.ts) and converted to JSON as
//     convertToJSONableObject does. Refused: any tag (`!!binary`, `!!str`, `!`, `!foo`),
//     anchors and aliases, `<<` keys, more than one document, directives (`%YAML` switches npm
//     yaml's schema), duplicate keys (go-yaml keeps an undefined one when `1` and "1" collide),
//     keys that are null, floats, big integers or collections, `.inf`/`.nan` values, and the
//     scalars whose extent the two parsers see differently (checkScalarEnds).
//   - Either way: bodies that are not UTF-8 (go-yaml also reads UTF-16), and raw NEL, LS, PS or
//     lone CR characters (line breaks to go-yaml, ordinary characters to npm yaml).
// These rules come from differential runs of both parsers over hand-written and fuzzed bodies;
// test/e2e/yaml-bodies.test.ts compares this reading with the real API server's over a corpus of
// ordinary and hostile bodies.

import { isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Node as YamlNode, Pair, Scalar } from 'yaml';
import { KubegateError } from '../errors.js';
import { resolvePlainScalar } from './yaml-resolve.js';

export interface YamlBodyReading {
  readonly value: unknown;
  /** 'json' when the text is JSON (read with JSON.parse), 'yaml' otherwise. */
  readonly source: 'json' | 'yaml';
}

/** Deeper nesting is refused: no Kubernetes object comes close, and recursion must stay bounded. */
const MAX_DEPTH = 1000;

const ADVICE =
  'Send the body as JSON (kubectl does), or as plain YAML without tags, anchors, aliases, merge keys (<<) or several documents.';

function refuse(what: string): never {
  throw new KubegateError(
    'KG_REQUEST_BODY_UNSUPPORTED',
    `kubegate refused the YAML request body: ${what}, which the API server may read differently from kubegate. ${ADVICE}`,
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

// Line breaks to go-yaml that npm yaml reads as ordinary characters: U+0085 (NEL), U+2028 (LS),
// U+2029 (PS) (YAML 1.1), and a CR not followed by LF (`name: x\r` is "x" to go-yaml).
const GO_ONLY_BREAKS = /[\u0085\u2028\u2029]|\r(?!\n)/u;

export function readYamlBody(body: Buffer): YamlBodyReading {
  let text: string;
  try {
    text = utf8.decode(body); // drops one leading UTF-8 BOM, as go-yaml does
  } catch {
    refuse('it is not UTF-8 text');
  }
  const lineBreak = GO_ONLY_BREAKS.exec(text);
  if (lineBreak !== null) {
    refuse(`it holds a raw U+${hex4(lineBreak[0])} character on ${lineOf(text, lineBreak.index)}`);
  }
  let json: unknown;
  let isJson = true;
  try {
    json = JSON.parse(text);
  } catch {
    isJson = false;
  }
  if (isJson) {
    checkJsonNumbers(json);
    return { value: json, source: 'json' };
  }
  return readYaml(text);
}

function hex4(c: string): string {
  return (c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
}

function lineOf(text: string, offset: number): string {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return `line ${line}`;
}

/** A JSON number that overflows float64 is the string of its digits to go-yaml. */
function checkJsonNumbers(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) refuse('it holds a number too large for a float64');
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object' && v !== null) {
      for (const item of Object.values(v)) stack.push(item);
    }
  }
}

function readYaml(text: string): YamlBodyReading {
  let docs: Document.Parsed[];
  try {
    // failsafe: every scalar stays its text; yaml-resolve.ts types plain scalars as go-yaml does.
    docs = parseAllDocuments(text, {
      version: '1.1',
      schema: 'failsafe',
      merge: false,
      uniqueKeys: false,
    }) as Document.Parsed[];
  } catch (err) {
    if (err instanceof RangeError) refuse('it is nested too deeply to parse');
    throw err;
  }
  if (docs.length === 0) return { value: null, source: 'yaml' }; // go-yaml: null
  if (docs.length > 1) refuse('it holds more than one YAML document');
  const doc = docs[0] as Document.Parsed;
  const error = doc.errors[0];
  if (error !== undefined)
    refuse(`kubegate cannot parse it (${(error.message.split('\n')[0] ?? '').replace(/:$/u, '')})`);
  if (
    doc.directives?.yaml.explicit === true ||
    Object.keys(doc.directives?.tags ?? {}).length > 1 ||
    doc.warnings.some((w) => w.code === 'BAD_DIRECTIVE')
  ) {
    refuse('it starts with a YAML directive (%YAML, %TAG)');
  }
  const root = doc.contents;
  // A block scalar at the root may take less indented lines than go-yaml does; never an object.
  if (isScalar(root) && (root.type === 'BLOCK_LITERAL' || root.type === 'BLOCK_FOLDED')) {
    refuse('it is a block scalar (| or >), not an object');
  }
  return { value: toJson(root, { text, inFlow: false, depth: 0 }), source: 'yaml' };
}

/** What the walk carries: the text (for line numbers and the flow checks) and where it is. */
interface Walk {
  readonly text: string;
  /** Inside a flow collection ([…] or {…}), where go-yaml's plain scalars end differently. */
  readonly inFlow: boolean;
  readonly depth: number;
}

function where(node: { range?: readonly number[] | null | undefined }, text: string): string {
  const offset = node.range?.[0];
  return offset === undefined ? 'in the body' : `on ${lineOf(text, offset)}`;
}

function tagName(tag: string): string {
  const core = 'tag:yaml.org,2002:';
  return tag.startsWith(core) ? `!!${tag.slice(core.length)}` : tag;
}

/** Tags, anchors: refused on any node. */
function checkProperties(node: YamlNode, text: string): void {
  if (node.tag !== undefined) refuse(`it uses the YAML tag ${tagName(node.tag)} ${where(node, text)}`);
  if (node.anchor !== undefined) refuse(`it uses the YAML anchor &${node.anchor} ${where(node, text)}`);
}

function toJson(node: unknown, walk: Walk): unknown {
  const { text } = walk;
  if (walk.depth > MAX_DEPTH) refuse(`it nests more than ${MAX_DEPTH} levels deep`);
  if (node === null || node === undefined) return null; // an empty document or value
  if (isAlias(node)) refuse(`it uses the YAML alias *${node.source} ${where(node, text)}`);
  if (isScalar(node)) {
    checkProperties(node, text);
    return scalarValue(node, walk);
  }
  if (isSeq(node)) {
    checkProperties(node, text);
    const inner: Walk = { text, inFlow: walk.inFlow || node.flow === true, depth: walk.depth + 1 };
    // A `key: value` entry of a flow sequence is a one-pair map, to go-yaml as to npm yaml.
    return node.items.map((item) => (isPair(item) ? mapValue([item], node, inner) : toJson(item, inner)));
  }
  if (isMap(node)) {
    checkProperties(node, text);
    return mapValue(node.items, node, { ...walk, inFlow: walk.inFlow || node.flow === true });
  }
  refuse(`it holds a YAML node kubegate does not know ${where(node, text)}`);
}

/** The offset after the quote closing the quoted scalar that opens at `start`; -1 when none does. */
function quotedEnd(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (quote === '"' && c === '\\') i++;
    else if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i + 1;
    }
  }
  return -1;
}

/**
 * Plain scalars go-yaml ends elsewhere than npm yaml. In a flow collection, libyaml takes `:` as
 * a value indicator only before a blank (`[b:, c]` holds the string "b:", npm yaml reads a pair
 * b: null), and takes `?` before anything as a key indicator (`[?a]` is {a: null}, "?a" to npm
 * yaml). A block scalar (| or >) at the end of a body without a final line break keeps no final
 * line break to go-yaml; npm yaml adds one. A block scalar with an indentation indicator (`|2`,
 * `>1-`) keeps whitespace-only last lines differently. Quoted scalars that span lines are folded
 * differently after an escaped line break (`"a\` + newline) or an escaped quote followed by a line
 * starting with `#`; kubegate refuses every multi-line quoted scalar (JSON has none).
 */
function checkScalarEnds(node: Scalar, walk: Walk): void {
  const { text } = walk;
  if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
    if (!text.endsWith('\n')) refuse(`it has a block scalar (| or >) and does not end with a line break`);
    // The header: | or >, then a chomping indicator (+ -) and an indentation indicator (1-9).
    const header = /^[|>][+-]?([1-9])?/u.exec(text.slice(node.range?.[0] ?? 0));
    if (header === null || header[1] !== undefined) {
      refuse(`the block scalar ${where(node, text)} has an indentation indicator (|1, >2-, …)`);
    }
    return;
  }
  if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') {
    const [from, to] = node.range ?? [0, 0];
    // Where the closing quote really is: npm yaml ends `'''` + newline + `#…'` too early.
    const end = quotedEnd(text, from);
    if (end !== to) refuse(`kubegate cannot tell where the quoted string ${where(node, text)} ends`);
    if (/[\r\n]/u.test(text.slice(from, to)))
      refuse(`the quoted string ${where(node, text)} spans several lines`);
    return;
  }
  if (node.type !== 'PLAIN' || !walk.inFlow) return;
  const end = node.range?.[1];
  if (String(node.value).startsWith('?'))
    refuse(`the flow scalar ${JSON.stringify(node.value)} ${where(node, text)} starts with ?`);
  if (end === undefined) return;
  let next = end;
  while (' \t\r\n'.includes(text[next] ?? '#')) next++;
  if (text[next] === ':' && ',[]{}'.includes(text[next + 1] ?? ' ')) {
    refuse(
      `a ':' before ${JSON.stringify(text[next + 1])} ${where(node, text)} ends a flow scalar differently`,
    );
  }
}

function scalarValue(node: Scalar, walk: Walk): unknown {
  checkScalarEnds(node, walk);
  const value = String(node.value);
  if (node.type !== 'PLAIN') return value; // quoted and block scalars are strings to go-yaml
  const resolved = resolvePlainScalar(value);
  switch (resolved.type) {
    case 'null':
      return null;
    case 'bool':
    case 'string':
      return resolved.value;
    case 'int':
    case 'uint':
      // As JSON.parse reads the integer json.Marshal writes.
      return Number(resolved.value);
    case 'float':
      if (!Number.isFinite(resolved.value)) {
        refuse(`the value ${JSON.stringify(value)} ${where(node, walk.text)} is not a finite number`);
      }
      return resolved.value;
    default: {
      const never: never = resolved;
      return never;
    }
  }
}

/** convertToJSONableObject's key conversion; what it cannot convert (or kubegate will not) is refused. */
function keyString(key: unknown, walk: Walk): string {
  const { text } = walk;
  if (key === null || key === undefined) refuse('it has an empty key');
  if (!isScalar(key)) {
    if (isAlias(key)) refuse(`it uses the YAML alias *${key.source} ${where(key, text)}`);
    refuse(`it has a key that is a collection ${where(key, text)}`);
  }
  checkProperties(key, text);
  checkScalarEnds(key, walk);
  const value = String(key.value);
  // A plain `<<` is a merge key to go-yaml; a quoted one is not, but no Kubernetes key is `<<`.
  if (value === '<<') refuse(`it uses a << key (a merge key) ${where(key, text)}`);
  if (key.type !== 'PLAIN') return value;
  const resolved = resolvePlainScalar(value);
  switch (resolved.type) {
    case 'string':
      return resolved.value;
    case 'bool':
      return resolved.value ? 'true' : 'false';
    case 'int':
      return resolved.value.toString();
    default:
      return refuse(`the key ${JSON.stringify(value)} ${where(key, text)} is a ${resolved.type}; quote it`);
  }
}

function mapValue(
  pairs: readonly Pair<unknown, unknown>[],
  node: YamlNode,
  walk: Walk,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  const inner: Walk = { ...walk, depth: walk.depth + 1 };
  for (const pair of pairs) {
    const key = keyString(pair.key, walk);
    if (seen.has(key)) refuse(`the key ${JSON.stringify(key)} appears twice ${where(node, walk.text)}`);
    seen.add(key);
    // defineProperty: a "__proto__" key is an ordinary key, as in JSON.parse.
    Object.defineProperty(out, key, {
      value: toJson(pair.value, inner),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
