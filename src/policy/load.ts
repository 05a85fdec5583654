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

  const vocabulary = fieldNames(schema);
  const issues: PolicyIssue[] = [];
  for (const issue of flattenIssues(result.error.issues)) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyNode = findKeyNode(doc, issue.path, key);
        const offset = keyNode?.range?.[0] ?? nearestNode(doc, issue.path)?.range?.[0] ?? 0;
        const hint = suggest(key, vocabulary);
        issues.push({
          file,
          ...at(offset),
          path: formatPath([...issue.path, key]),
          message: `unknown field ${JSON.stringify(key)}${hint === null ? '' : ` (did you mean ${JSON.stringify(hint)}?)`}`,
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

const vocabularies = new WeakMap<z.ZodType, readonly string[]>();

/** Every field name the schema knows, for "did you mean" hints on unknown fields. */
function fieldNames(schema: z.ZodType): readonly string[] {
  const cached = vocabularies.get(schema);
  if (cached !== undefined) return cached;
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        if (k === 'properties' && typeof v === 'object' && v !== null)
          Object.keys(v).forEach((p) => names.add(p));
        walk(v);
      }
    }
  };
  walk(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
  const list = [...names];
  vocabularies.set(schema, list);
  return list;
}

function suggest(key: string, vocabulary: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const word of vocabulary) {
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
