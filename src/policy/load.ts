// Reading a policy (or fixture) file: YAML text → validated document, with every problem
// located as file:line:column and the field path, e.g.
//   policy.yaml:12:7: rules[2].match.verbs[0]: "delet" is not a Kubernetes verb
// Input: text and a file name (for messages). Output: the document, or ALL issues found, sorted
// by position. Must never stop at the first error (authors fix a file in one pass), never
// throw on bad input, and never read the disk (loadPolicyFile in reload.ts does that).

import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { compilePolicy } from './compile.js';
import type { CompiledPolicy } from './compile.js';
import { PolicySchema } from './schema.js';
import type { PolicyDocument } from './schema.js';

export interface PolicyIssue {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** Field path such as `rules[2].match.verbs[0]`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
}

export type ValidateResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

export type PolicyLoadResult =
  | { readonly ok: true; readonly policy: CompiledPolicy; readonly document: PolicyDocument }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

export function formatIssue(issue: PolicyIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

/** Parse, validate and compile a policy. `file` only names the source in messages. */
export function loadPolicy(text: string, file: string): PolicyLoadResult {
  const validated = validateYaml(text, file, PolicySchema);
  if (!validated.ok) return validated;
  return { ok: true, policy: compilePolicy(validated.value, { file }), document: validated.value };
}

type Path = readonly PropertyKey[];

/** Parse YAML and validate it against a zod schema, reporting every issue with its position. */
export function validateYaml<T>(text: string, file: string, schema: z.ZodType<T>): ValidateResult<T> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): { line: number; column: number } => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };

  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({ file, ...at(e.pos[0]), path: '', message: firstLine(e.message) })),
    };
  }
  if (doc.contents === null) {
    return { ok: false, issues: [{ file, line: 1, column: 1, path: '', message: 'the file is empty' }] };
  }

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // toJS throws on alias bombs ("Excessive alias count") and similar structural problems.
    const message = err instanceof Error ? firstLine(err.message) : 'cannot be read';
    return { ok: false, issues: [{ file, line: 1, column: 1, path: '', message }] };
  }

  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };

  const vocabulary = vocabularyOf(schema);
  const issues: PolicyIssue[] = [];
  for (const issue of flattenIssues(result.error.issues)) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyNode = findKeyNode(doc, issue.path, key);
        const offset = keyNode?.range?.[0] ?? nearestNode(doc, issue.path)?.range?.[0] ?? 0;
        issues.push({
          file,
          ...at(offset),
          path: formatPath([...issue.path, key]),
          message: unknownFieldMessage(key, issue.path, vocabulary),
        });
      }
      continue;
    }
    const missing = !doc.hasIn(issue.path as unknown[]);
    const node = nearestNode(doc, issue.path);
    let offset = node?.range?.[0] ?? 0;
    const celOffset = (issue as { params?: { offset?: unknown } }).params?.offset;
    if (typeof celOffset === 'number' && node !== undefined && isScalar(node)) {
      offset = scalarOffset(text, node, celOffset);
    }
    const message = missing && issue.code === 'invalid_type' ? 'is required' : messageOf(issue);
    issues.push({ file, ...at(offset), path: formatPath(issue.path), message });
  }
  issues.sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
  return { ok: false, issues: dedupe(issues) };
}

/**
 * Unions report one issue for all their options. When exactly one option got past the type
 * check (the author clearly meant that shape), report that option's own issues instead of the
 * union's summary: "present must be a boolean" beats "a query condition is a value, …".
 */
function flattenIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const issue of issues) {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) {
      out.push(issue);
      continue;
    }
    const plausible = issue.errors.filter((branch) => !wrongShape(branch));
    const [only] = plausible;
    if (plausible.length === 1 && only !== undefined) {
      out.push(...flattenIssues(only.map((i) => ({ ...i, path: [...issue.path, ...i.path] }))));
    } else {
      out.push(issue);
    }
  }
  return out;
}

/** A union option whose issues say the value is not even of its type (nested unions included). */
function wrongShape(branch: readonly z.core.$ZodIssue[]): boolean {
  return branch.some(
    (i) =>
      i.path.length === 0 &&
      (i.code === 'invalid_type' || (i.code === 'invalid_union' && i.errors.every(wrongShape))),
  );
}

/** zod's own wording ("Invalid input: expected boolean, received string") rewritten for authors. */
function messageOf(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    const article = /^[aeiou]/u.test(issue.expected) ? 'an' : 'a';
    return `must be ${article} ${issue.expected}, not ${input === undefined ? 'nothing' : JSON.stringify(input)}`;
  }
  if (issue.code === 'too_small' && issue.origin === 'string' && issue.message.startsWith('Too small')) {
    return 'must not be empty';
  }
  return issue.message;
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.trim() ?? message;
}

function dedupe(issues: readonly PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = formatIssue(i);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `rules[2].match.verbs[0]`, with keys that are not identifiers quoted: `query["a b"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_$][\w$]*$/u.test(part))
      out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/** The node at `path`, or its nearest existing ancestor (for a missing field: its parent). */
function nearestNode(doc: Document, path: Path): YamlNode | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = doc.getIn(path.slice(0, n) as unknown[], true);
    if (node !== undefined && node !== null && typeof node === 'object' && 'range' in node)
      return node as YamlNode;
  }
  return undefined;
}

function findKeyNode(doc: Document, path: Path, key: string): YamlNode | undefined {
  const parent: unknown = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
  if (!isMap(parent)) return undefined;
  for (const pair of parent.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key) return pair.key;
  }
  return undefined;
}

/**
 * Offset in the file of character `offset` inside a scalar's value, so that an error in a CEL
 * expression points at the token, not at the start of the `when:` value. Exact for plain,
 * single-line quoted and block (`|`) scalars; other forms fall back to the scalar's start.
 */
function scalarOffset(text: string, node: YamlNode, offset: number): number {
  const start = node.range?.[0] ?? 0;
  if (!isScalar(node)) return start;
  const value = typeof node.value === 'string' ? node.value : '';
  const before = value.slice(0, offset);
  const lineIndex = before.split('\n').length - 1;
  const column = offset - (before.lastIndexOf('\n') + 1);
  switch (node.type) {
    case 'PLAIN':
      return lineIndex === 0 ? start + column : start;
    case 'QUOTE_DOUBLE':
    case 'QUOTE_SINGLE':
      return lineIndex === 0 && !/\\|''/u.test(text.slice(start, start + offset + 2))
        ? start + 1 + column
        : start;
    case 'BLOCK_LITERAL': {
      // The content starts on the line after the `|` header; every content line keeps the
      // block's indentation in the file.
      let lineStart = text.indexOf('\n', start) + 1;
      const indent = /^ */u.exec(text.slice(lineStart))?.[0].length ?? 0;
      for (let i = 0; i < lineIndex && lineStart > 0; i++) lineStart = text.indexOf('\n', lineStart) + 1;
      return lineStart > 0 ? lineStart + indent + column : start;
    }
    default:
      return start;
  }
}

/**
 * Where each field name is valid in a schema. A place is a field's parent as a generic path:
 * `[]` stands for any array index and `*` for any key of a map (query conditions), so
 * `rules[].match` is the place of `when`.
 */
interface Vocabulary {
  /** Every place, with the field names valid there. */
  readonly places: readonly { readonly path: readonly string[]; readonly fields: ReadonlySet<string> }[];
}

const vocabularies = new WeakMap<z.ZodType, Vocabulary>();

type JsonSchemaNode = Record<string, unknown>;

function vocabularyOf(schema: z.ZodType): Vocabulary {
  const cached = vocabularies.get(schema);
  if (cached !== undefined) return cached;
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const byPath = new Map<string, { path: string[]; fields: Set<string> }>();
  const resolve = (ref: string): unknown => {
    // Local references only (#/definitions/X, #/$defs/X): that is all toJSONSchema writes.
    let node: unknown = root;
    for (const part of ref.replace(/^#\//u, '').split('/')) {
      node = typeof node === 'object' && node !== null ? (node as JsonSchemaNode)[part] : undefined;
    }
    return node;
  };
  const walk = (node: unknown, path: string[], refs: ReadonlySet<string>): void => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as JsonSchemaNode;
    if (typeof n.$ref === 'string' && !refs.has(n.$ref))
      walk(resolve(n.$ref), path, new Set([...refs, n.$ref]));
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
      if (Array.isArray(n[key])) for (const branch of n[key] as unknown[]) walk(branch, path, refs);
    }
    if (typeof n.properties === 'object' && n.properties !== null) {
      const id = path.join('.');
      let place = byPath.get(id);
      if (place === undefined) byPath.set(id, (place = { path, fields: new Set() }));
      for (const [field, child] of Object.entries(n.properties as JsonSchemaNode)) {
        place.fields.add(field);
        walk(child, [...path, field], refs);
      }
    }
    if (Array.isArray(n.items)) for (const item of n.items as unknown[]) walk(item, [...path, '[]'], refs);
    else walk(n.items, [...path, '[]'], refs);
    walk(n.additionalProperties, [...path, '*'], refs);
  };
  walk(root, [], new Set());
  const vocabulary: Vocabulary = { places: [...byPath.values()] };
  vocabularies.set(schema, vocabulary);
  return vocabulary;
}

/** A concrete path (`rules`, 0, `match`) read as a generic one (`rules`, `[]`, `match`). */
function genericPath(path: Path): string[] {
  return path.map((part) => (typeof part === 'number' ? '[]' : String(part)));
}

function samePlace(place: readonly string[], path: readonly string[]): boolean {
  return (
    place.length === path.length && place.every((p, i) => p === path[i] || (p === '*' && path[i] !== '[]'))
  );
}

/** `path` without its last field (and the array indices after it): the object one level up. */
function parentOf(path: readonly string[]): string[] | null {
  let end = path.length;
  while (end > 0 && path[end - 1] === '[]') end--;
  return end === 0 ? null : path.slice(0, end - 1);
}

/**
 * The message for an unknown field `key` in the object at `path`. A field that is valid one level
 * down or up (`when` written beside `match`, `action` written inside it) is told where it belongs,
 * never "did you mean" itself; otherwise the nearest field valid here is suggested.
 */
function unknownFieldMessage(key: string, path: Path, vocabulary: Vocabulary): string {
  const here = genericPath(path);
  const unknown = `unknown field ${JSON.stringify(key)}`;
  const fieldsHere = vocabulary.places.filter((p) => samePlace(p.path, here)).flatMap((p) => [...p.fields]);
  const placement = placementOf(key, here, vocabulary);
  const hint = suggest(key, fieldsHere);
  if (placement !== null) {
    return `${unknown}: ${placement}${hint === null ? '' : ` (or did you mean ${JSON.stringify(hint)}?)`}`;
  }
  if (hint !== null) return `${unknown} (did you mean ${JSON.stringify(hint)}?)`;
  // A misspelt field of another level: "verb" beside `match` → "verbs", inside `match`.
  const elsewhere = suggest(
    key,
    vocabulary.places.flatMap((p) => [...p.fields]),
  );
  if (elsewhere === null) return unknown;
  const where = placementOf(elsewhere, here, vocabulary);
  return `${unknown} (did you mean ${JSON.stringify(elsewhere)}?${where === null ? '' : ` ${where}`})`;
}

/**
 * Where `key` (letter case aside) is valid, said from the object at `here`: "belongs inside
 * "match" or "exclude"" (one level down), "belongs one level up, beside "match"", or the places
 * by path; null when it is a field nowhere.
 */
function placementOf(key: string, here: readonly string[], vocabulary: Vocabulary): string | null {
  const homes = vocabulary.places.flatMap((p) => {
    const field = [...p.fields].find((f) => f.toLowerCase() === key.toLowerCase());
    return field === undefined ? [] : [{ path: p.path, field }];
  });
  if (homes.length === 0) return null;
  const name = homes[0]!.field === key ? 'it' : JSON.stringify(homes[0]!.field);
  const quoted = (names: readonly string[]): string =>
    [...new Set(names)].map((n) => JSON.stringify(n)).join(' or ');
  const lastField = (path: readonly string[]): string => path.filter((p) => p !== '[]').at(-1) ?? '';
  const below = homes.filter(
    (h) => samePlace(h.path.slice(0, here.length), here) && parentOf(h.path)?.length === here.length,
  );
  if (below.length > 0) return `${name} belongs inside ${quoted(below.map((h) => lastField(h.path)))}`;
  const parent = parentOf(here);
  if (parent !== null && homes.some((h) => samePlace(h.path, parent))) {
    return `${name} belongs one level up, beside ${quoted([lastField(here)])}`;
  }
  const shown = (path: readonly string[]): string =>
    path.length === 0 ? 'the top level' : path.join('.').replaceAll('.[]', '[]');
  return `${name} belongs in ${[...new Set(homes.map((h) => shown(h.path)))].join(' or ')}`;
}

function suggest(key: string, vocabulary: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const word of vocabulary) {
    if (word === key) continue;
    const d = word.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, word);
    if (d < bestDistance) {
      best = word;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 3;
}
