// The `kubegate policy check|eval|test` commands as plain functions; src/cli wires them into
// commander and prints `output`. Input: file paths and options as the CLI parsed them. Output:
// text for the terminal and whether the command succeeded (exit 0 or 1). Must never print or
// exit itself (the CLI owns the terminal), and never evaluate against a policy that did not load.

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KubegateError } from '../errors.js';
import type { CompiledPolicy } from './compile.js';
import { evalRequest } from './eval-request.js';
import type { TargetObject } from './evaluate.js';
import { formatFixtureResults, runFixtureFile } from './fixtures.js';
import type { FixtureFileResult } from './fixtures.js';
import { formatIssue, loadPolicy } from './load.js';
import type { PolicyIssue } from './load.js';

export interface CommandResult {
  readonly ok: boolean;
  readonly output: string;
}

const readText = (path: string): Promise<string> => readFile(path, 'utf8');

/** `kubegate policy check FILE…`: every file valid → ok; otherwise every error of every file. */
export async function policyCheck(files: readonly string[]): Promise<CommandResult> {
  const lines: string[] = [];
  let ok = files.length > 0;
  if (files.length === 0) lines.push('no policy files given');
  for (const file of files) {
    let text: string;
    try {
      text = await readText(file);
    } catch (err) {
      ok = false;
      lines.push(`${file}: cannot read: ${errorCode(err)}`);
      continue;
    }
    const loaded = loadPolicy(text, file);
    if (loaded.ok) {
      const n = loaded.policy.rules.length;
      lines.push(`${file}: valid, ${n} rule${n === 1 ? '' : 's'}`);
    } else {
      ok = false;
      lines.push(...loaded.issues.map(formatIssue));
    }
  }
  return { ok, output: lines.join('\n') };
}

export interface PolicyEvalOptions {
  /** Policy file. */
  readonly policy: string;
  readonly method: string;
  /** Path and query: `/api/v1/namespaces/d/pods?labelSelector=app%3Dweb`. */
  readonly path: string;
  /** Default "system:anonymous". */
  readonly user?: string;
  readonly groups?: readonly string[];
  /** `k=v,k2=v2`: the labels of the live target object; or `unavailable` (the lookup failed). */
  readonly objectLabels?: string;
  /** A file whose bytes are the request body. */
  readonly body?: string;
  /** `Name: value`, repeatable. */
  readonly headers?: readonly string[];
  /** Default: the current time (the CLI is the edge that may read the clock). */
  readonly now?: Date;
}

/**
 * `kubegate policy eval`: one JSON object (see eval-request.ts) describing the decision. Throws
 * KG_CONFIG_INVALID when the policy does not load, since there is then no decision to show.
 */
export async function policyEval(opts: PolicyEvalOptions): Promise<string> {
  const policy = await loadOrThrow(opts.policy);
  const { report } = evalRequest(policy, {
    method: opts.method,
    target: opts.path,
    headers: parseHeaders(opts.headers ?? []),
    ...(opts.body === undefined ? {} : { body: await readFile(opts.body) }),
    user: opts.user ?? 'system:anonymous',
    groups: opts.groups ?? [],
    object: parseObjectLabels(opts.objectLabels),
    now: opts.now ?? new Date(),
  });
  return JSON.stringify(report, null, 2);
}

/** `kubegate policy test DIR`: runs every fixture file (*.yaml, *.yml) under DIR. */
export async function policyTest(dir: string, deps: { readonly now?: Date } = {}): Promise<CommandResult> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch (err) {
    return { ok: false, output: `${dir}: cannot read: ${errorCode(err)}` };
  }
  const files = entries
    .filter((e) => /\.ya?ml$/u.test(e))
    .map((e) => join(dir, e))
    .sort();
  const results: FixtureFileResult[] = [];
  const policies = new Map<string, Promise<CompiledPolicy | readonly PolicyIssue[]>>();
  const now = deps.now ?? new Date();
  for (const file of files) {
    // A policy kept beside its fixtures is not a fixture file.
    if (/^kind:\s*Policy\s*$/mu.test(await readText(file))) continue;
    results.push(await runFixtureFile(file, { readFile: readText, now }, policies));
  }
  if (results.length === 0) return { ok: false, output: `${dir}: no fixture files found` };
  return { ok: results.every((r) => r.ok), output: formatFixtureResults(results) };
}

async function loadOrThrow(file: string): Promise<CompiledPolicy> {
  const loaded = loadPolicy(await readText(file), file);
  if (loaded.ok) return loaded.policy;
  throw new KubegateError('KG_CONFIG_INVALID', loaded.issues.map(formatIssue).join('\n'));
}

function parseHeaders(lines: readonly string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `--header ${JSON.stringify(line)}: write it as "Name: value"`,
      );
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else headers[name] = [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return headers;
}

function parseObjectLabels(text: string | undefined): TargetObject {
  if (text === undefined) return null;
  if (text === 'unavailable') return 'unavailable';
  const labels: Record<string, string> = {};
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `--object-labels ${JSON.stringify(text)}: write it as k=v,k2=v2`,
      );
    }
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return { metadata: { labels } };
}

function errorCode(err: unknown): string {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}
