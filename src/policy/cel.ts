// CEL for a rule's `when`: the one place kubegate touches its CEL library
// (@marcbachmann/cel-js). Input: the expression text (compile) and the request's variables
// (run). Output: a compiled program, or a message with the offset of the error in the
// expression; at run time, true/false or a message. Must never throw on user input, never read
// the clock (`now` is a variable), and never do I/O: the environment registers no functions.
//
// Variables: `request` (map), `object` (the live target object, or null), `body` (the request
// body object, or null), `user` ({name, groups}), `now` (timestamp).

import { Environment, ParseError, EvaluationError, TypeError as CelTypeError } from '@marcbachmann/cel-js';
import type { ASTNode } from '@marcbachmann/cel-js';

export interface CelVariables {
  readonly request: Readonly<Record<string, unknown>>;
  readonly object: Readonly<Record<string, unknown>> | null;
  readonly body: Readonly<Record<string, unknown>> | null;
  readonly user: { readonly name: string; readonly groups: readonly string[] };
  readonly now: Date;
}

export type CelOutcome =
  { readonly ok: true; readonly value: boolean } | { readonly ok: false; readonly message: string };

export interface CelProgram {
  readonly source: string;
  /** The expression reads `object`: the gateway must fetch the live target before evaluating. */
  readonly referencesObject: boolean;
  /** The expression reads `body`: unknown when the body is known only in part (evaluate.ts). */
  readonly referencesBody: boolean;
  readonly run: (vars: CelVariables) => CelOutcome;
}

export type CelCompileResult =
  | { readonly ok: true; readonly program: CelProgram }
  | { readonly ok: false; readonly message: string; readonly offset: number };

// Built once: building an environment is the expensive part of the library.
const environment = new Environment({
  homogeneousAggregateLiterals: false,
  // `object.?metadata.?labels[?"team"]` lets rules read optional fields without an error.
  enableOptionalTypes: true,
  limits: { maxAstNodes: 2000, maxDepth: 64, maxListElements: 256, maxMapEntries: 256, maxCallArguments: 16 },
})
  .registerVariable('request', 'map')
  .registerVariable('object', 'dyn')
  .registerVariable('body', 'dyn')
  .registerVariable('user', 'map')
  .registerVariable('now', 'google.protobuf.Timestamp');

// Compiled programs are immutable, so rules with the same expression share one: validation and
// compilation each ask for it, and generated policies repeat expressions across many rules.
// Bounded so that a long-running gateway reloading ever-changing policies cannot grow it forever.
const CACHE_LIMIT = 4096;
const cache = new Map<string, CelCompileResult>();

export function compileCel(source: string): CelCompileResult {
  const cached = cache.get(source);
  if (cached !== undefined) return cached;
  const result = compileUncached(source);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, result);
  return result;
}

function compileUncached(source: string): CelCompileResult {
  let parsed: ReturnType<typeof environment.parse>;
  try {
    parsed = environment.parse(source);
  } catch (err) {
    return { ok: false, ...describeError(err) };
  }
  const checked = parsed.check();
  if (!checked.valid) return { ok: false, ...describeError(checked.error) };
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return {
      ok: false,
      message: `must be true or false, but this expression gives a ${checked.type}`,
      offset: 0,
    };
  }
  const referencesObject = mentions(parsed.ast, 'object');
  const referencesBody = mentions(parsed.ast, 'body');
  const run = (vars: CelVariables): CelOutcome => {
    let value: unknown;
    try {
      value = parsed(vars);
    } catch (err) {
      return { ok: false, message: describeError(err).message };
    }
    if (typeof value !== 'boolean') return { ok: false, message: `gave ${typeof value}, not true or false` };
    return { ok: true, value };
  };
  return { ok: true, program: { source, referencesObject, referencesBody, run } };
}

function describeError(err: unknown): { message: string; offset: number } {
  if (err instanceof ParseError || err instanceof EvaluationError || err instanceof CelTypeError) {
    // `summary` is the message without the library's source highlighting; the caller places it.
    return { message: err.summary, offset: err.range?.start ?? 0 };
  }
  return { message: err instanceof Error ? err.message : 'invalid expression', offset: 0 };
}

// Any identifier with the name counts, even a macro variable that shadows it: fetching the
// object when it was not needed costs a lookup, and a `body` condition taken as unknown when it
// could have been checked costs a review; missing either would let a condition be misjudged.
function mentions(node: ASTNode, name: string): boolean {
  const stack: unknown[] = [node];
  while (stack.length > 0) {
    const n = stack.pop();
    if (Array.isArray(n)) {
      stack.push(...(n as unknown[]));
    } else if (typeof n === 'object' && n !== null && 'op' in n && 'args' in n) {
      const { op, args } = n as { op: string; args: unknown };
      if (op === 'id' && args === name) return true;
      stack.push(args);
    }
  }
  return false;
}
