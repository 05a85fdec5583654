// Loading kubegate's configuration at startup: config file (YAML) + overrides (command-line
// flags, environment, as the caller gathers them) → one deep-frozen Config. Input: an optional
// file path and overrides. Output: the Config, or a KubegateError KG_CONFIG_INVALID whose message
// lists EVERY issue, each located, so an operator fixes the file in one pass:
//   kubegate.yaml:4:9: listen.port: expected a number from 1 to 65535
//   overrides: log.level: expected one of fatal, error, warn, info, debug, trace, silent
// Must never start kubegate on a config it did not fully understand, never guess a value, and
// never hold a default (schema.ts holds them all).
//
// Relative paths in the file resolve against the file's folder (so a config works from any
// working directory); relative paths in overrides resolve against the working directory, as a
// path typed on the command line does.

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { KubegateError } from '../errors.js';
import { formatPath } from '../policy/load.js';
import { ConfigSchema, PATH_FIELDS } from './schema.js';
import type { Config, ConfigInput } from './schema.js';

/** Values that win over the file's; undefined fields are ignored (an unset flag). */
export type ConfigOverrides = Partial<ConfigInput>;

export interface LoadConfigOptions {
  /** The config file; omitted → defaults and overrides only. */
  readonly file?: string;
  readonly overrides?: ConfigOverrides;
  /** Base for a relative `file` and relative override paths; default process.cwd(). */
  readonly cwd?: string;
}

export interface ConfigIssue {
  /** The file name as given, `overrides`, or null for a value no one set (a missing field). */
  readonly source: string | null;
  /** 1-based; null outside a file. */
  readonly line: number | null;
  readonly column: number | null;
  /** Field path such as `listen.port`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
}

type Path = readonly PropertyKey[];

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<Config> {
  const cwd = opts.cwd ?? process.cwd();
  let fromFile: unknown = {};
  let located: Locator = () => ({ source: null, line: null, column: null });
  let base = cwd;
  if (opts.file !== undefined) {
    const absolute = resolve(cwd, opts.file);
    base = dirname(absolute);
    const parsed = parseConfigText(await readConfigFile(opts.file, absolute), opts.file);
    if (!parsed.ok) throw configError(parsed.issues);
    fromFile = parsed.value;
    located = parsed.locate;
  }
  const overrides = mapPaths(opts.overrides ?? {}, (p) => resolve(cwd, p));
  const result = ConfigSchema.safeParse(merge(fromFile, overrides), { reportInput: true });
  if (!result.success) {
    throw configError(describeIssues(result.error.issues, overrides, located));
  }
  return deepFreeze(mapPaths(result.data, (p) => resolve(base, p)));
}

/** `kubegate.yaml:4:9: listen.port: message`, with whatever location is known. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = [issue.source, issue.line, issue.column].filter((x) => x !== null).join(':');
  const what = issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
  return where === '' ? what : `${where}: ${what}`;
}

function configError(issues: readonly ConfigIssue[]): KubegateError {
  const lines = issues.map((i) => `  ${formatConfigIssue(i)}`).join('\n');
  return new KubegateError('KG_CONFIG_INVALID', `invalid kubegate configuration:\n${lines}`, {
    details: { causes: issues.map((i) => ({ field: i.path, message: formatConfigIssue(i) })) },
  });
}

async function readConfigFile(file: string, absolute: string): Promise<string> {
  try {
    return await readFile(absolute, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : code === 'EACCES'
            ? 'is not readable by this user'
            : `cannot be read (${code ?? String(err)})`;
    throw new KubegateError('KG_CONFIG_INVALID', `kubegate's config file ${file} (${absolute}) ${why}`, {
      cause: err,
    });
  }
}

type Locator = (path: Path, fromKey?: boolean) => Pick<ConfigIssue, 'source' | 'line' | 'column'>;

type Parsed =
  | { readonly ok: true; readonly value: unknown; readonly locate: Locator }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** YAML text → plain value, plus a way to find where a field path sits in the file. */
function parseConfigText(text: string, file: string): Parsed {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Pick<ConfigIssue, 'source' | 'line' | 'column'> => {
    const pos = lineCounter.linePos(offset);
    return { source: file, line: pos.line, column: pos.col };
  };
  const fail = (offset: number, message: string): Parsed => ({
    ok: false,
    issues: [{ ...at(offset), path: '', message }],
  });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({ ...at(e.pos[0]), path: '', message: firstLine(e.message) })),
    };
  }
  // An empty file (or one holding only comments) is an empty mapping: every default applies.
  if (doc.contents === null) return { ok: true, value: {}, locate: () => at(0) };
  if (!isMap(doc.contents)) {
    return fail(
      doc.contents.range?.[0] ?? 0,
      'the config file must be a mapping of settings (`key: value` lines)',
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // toJS throws on alias bombs ("Excessive alias count") and similar structural problems.
    return fail(0, err instanceof Error ? firstLine(err.message) : 'cannot be read');
  }
  const locate: Locator = (path, fromKey = false) => {
    const node = fromKey ? keyNode(doc, path) : nearestNode(doc, path);
    return at(node?.range?.[0] ?? 0);
  };
  return { ok: true, value, locate };
}

function describeIssues(
  zodIssues: readonly z.core.$ZodIssue[],
  overrides: unknown,
  locate: Locator,
): ConfigIssue[] {
  const overridden = (path: Path): boolean => {
    if (path.length === 0) return false;
    let node = overrides;
    for (const part of path) {
      if (!isPlainObject(node)) return true; // a scalar override replaced the whole subtree
      node = node[part as string];
      if (node === undefined) return false;
    }
    return true;
  };
  const where = (path: Path, fromKey = false): Pick<ConfigIssue, 'source' | 'line' | 'column'> =>
    overridden(path) ? { source: 'overrides', line: null, column: null } : locate(path, fromKey);

  const issues: ConfigIssue[] = [];
  for (const issue of zodIssues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownFields(issue.path);
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        issues.push({
          ...where(path, true),
          path: formatPath(path),
          message: `unknown field${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
        });
      }
      continue;
    }
    issues.push({ ...where(issue.path), path: formatPath(issue.path), message: messageOf(issue) });
  }
  return issues.sort(
    (a, b) =>
      (a.line ?? Infinity) - (b.line ?? Infinity) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.path.localeCompare(b.path),
  );
}

/** zod's generic wording ("Invalid input: expected object, received number") rewritten. */
function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    const input = (issue as { input?: unknown }).input;
    const expected = issue.expected === 'object' ? 'a mapping of settings' : `a ${issue.expected}`;
    return `expected ${expected}, not ${input === undefined ? 'nothing' : JSON.stringify(input)}`;
  }
  return issue.message;
}

/** The field names the schema allows at `path`, for an "unknown field" message. */
function knownFields(path: Path): string[] {
  let schema: unknown = ConfigSchema;
  for (const part of [...path, null]) {
    // Unwrap defaults, optionals and the root transform down to the object schema.
    for (;;) {
      const def = (schema as { _zod?: { def?: { type?: string; innerType?: unknown; in?: unknown } } })._zod
        ?.def;
      if (def?.type === 'pipe') schema = def.in;
      else if (def?.innerType !== undefined) schema = def.innerType;
      else break;
    }
    // A list's item (identity.oidc[0]): the path's next part is its index.
    if (
      (schema as { _zod?: { def?: { type?: string } } })._zod?.def?.type === 'array' &&
      typeof part === 'number'
    ) {
      schema = (schema as { _zod: { def: { element: unknown } } })._zod.def.element;
      continue;
    }
    const shape = (schema as { _zod?: { def?: { shape?: Record<string, unknown> } } })._zod?.def?.shape;
    if (shape === undefined) return [];
    if (part === null) return Object.keys(shape);
    schema = shape[part as string];
  }
  return [];
}

/** The node at `path`, or its nearest existing ancestor (for a missing field: its parent). */
function nearestNode(doc: Document, path: Path): YamlNode | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
    if (node !== null && typeof node === 'object' && 'range' in node) return node as YamlNode;
  }
  return undefined;
}

/** The key node of the last segment of `path` (where an unknown field is written). */
function keyNode(doc: Document, path: Path): YamlNode | undefined {
  const parentPath = path.slice(0, -1);
  const parent: unknown = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath as unknown[], true);
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isScalar(pair.key) && String(pair.key.value) === String(path[path.length - 1])) return pair.key;
    }
  }
  return nearestNode(doc, parentPath);
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.trim() ?? message;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Overrides win; objects merge field by field; undefined never replaces a value. */
function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  // Object.fromEntries defines own properties, so a `__proto__` key stays a (rejected) field.
  const keys = new Set([...Object.keys(base), ...Object.keys(over)]);
  return Object.fromEntries([...keys].map((k) => [k, merge(base[k], over[k])]));
}

/** A copy of `value` with every relative path in PATH_FIELDS passed through `fn`. */
function mapPaths<T>(value: T, fn: (path: string) => string): T {
  const copy = structuredClone(value) as unknown;
  for (const fieldPath of PATH_FIELDS) mapPath(copy, fieldPath, fn);
  return copy as T;
}

/** Resolves the path at `fieldPath` under `node` in place; `*` walks every item of a list. */
function mapPath(node: unknown, fieldPath: readonly string[], fn: (path: string) => string): void {
  const [part, ...rest] = fieldPath;
  if (part === undefined) return;
  if (part === '*') {
    if (Array.isArray(node)) for (const item of node) mapPath(item, rest, fn);
    return;
  }
  if (!isPlainObject(node)) return;
  if (rest.length > 0) {
    mapPath(node[part], rest, fn);
    return;
  }
  const path = node[part];
  if (typeof path === 'string' && path !== '' && !isAbsolute(path)) node[part] = fn(path);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
