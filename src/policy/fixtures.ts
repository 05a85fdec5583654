// Policy fixtures: YAML files of requests and the decisions a policy must reach for them, run
// like unit tests (`kubegate policy test DIR`, and examples/tests in `npm test`). Input: fixture
// text and a way to read the policy files it names. Output: per-case results, with a readable
// diff for each mismatch. Must never read the clock for a case (a case without `now` uses the
// run's `now`, given by the caller) and never stop at the first failure.
//
// Format:
//   policy: ../policy.yaml            # relative to the fixture file
//   now: 2026-01-05T10:00:00Z         # optional, for time-dependent rules; cases may override
//   cases:
//     - name: deleting a deployment in prod is refused
//       method: DELETE
//       path: /apis/apps/v1/namespaces/prod/deployments/web
//       user: alice                   # default "fixture-user"
//       groups: [dev]
//       objectLabels: {sensitive: "true"}   # the live target object's labels
//       object: unavailable           # or: the live object could not be fetched
//       body: {propagationPolicy: Background}   # an object is sent as JSON; a string as is
//       headers: {Upgrade: websocket}
//       expect:
//         decision: deny              # allow | deny | approve | reject
//         rules: [never-delete-prod-deployments]  # optional: exactly the rules that matched
//         message: Deleting deployments in production is not allowed.  # optional, exact
//         approvals: ['1 of group:security']  # optional: exactly who must approve, one entry per
//                                    # requirement in policy order: "<count> of <approver> or
//                                    # <approver>", stages joined with " then "

import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { CompiledPolicy } from './compile.js';
import { evalRequest } from './eval-request.js';
import type { ApprovalJson, EvalReport } from './eval-request.js';
import type { TargetObject } from './evaluate.js';
import { formatIssue, loadPolicy, validateYaml } from './load.js';
import type { PolicyIssue } from './load.js';

const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), {
  error: (iss) => `${JSON.stringify(iss.input)} is not a timestamp (write it like 2026-01-05T10:00:00Z)`,
});

const FixtureCaseSchema = z.strictObject({
  name: z.string().min(1),
  method: z.string().min(1),
  path: z.string().min(1),
  user: z.string().optional(),
  groups: z.array(z.string()).optional(),
  objectLabels: z.record(z.string(), z.string()).optional(),
  object: z.union([z.literal('unavailable'), z.record(z.string(), z.unknown())]).optional(),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  now: timestamp.optional(),
  expect: z.strictObject({
    decision: z.enum(['allow', 'deny', 'approve', 'reject']),
    rules: z.array(z.string()).optional(),
    message: z.string().optional(),
    approvals: z.array(z.string()).optional(),
  }),
});

export const FixtureFileSchema = z.strictObject({
  policy: z.string().min(1),
  now: timestamp.optional(),
  cases: z.array(FixtureCaseSchema).min(1, { error: 'a fixture file needs at least one case' }),
});

export type FixtureFile = z.infer<typeof FixtureFileSchema>;
export type FixtureCase = z.infer<typeof FixtureCaseSchema>;

export interface CaseResult {
  readonly name: string;
  readonly ok: boolean;
  /** Empty when ok; otherwise lines such as `decision: want deny, got allow`. */
  readonly diff: readonly string[];
  readonly report: EvalReport;
}

export interface FixtureFileResult {
  readonly file: string;
  readonly ok: boolean;
  readonly cases: readonly CaseResult[];
  /** Why the file could not run at all (unreadable, invalid, its policy does not load). */
  readonly errors: readonly string[];
}

export interface FixtureDeps {
  readonly readFile: (path: string) => Promise<string>;
  /** For cases that set no `now`. */
  readonly now: Date;
}

/** Runs one fixture file. Policies are read through `policies` so several files share one load. */
export async function runFixtureFile(
  file: string,
  deps: FixtureDeps,
  policies: Map<string, Promise<CompiledPolicy | readonly PolicyIssue[]>> = new Map(),
): Promise<FixtureFileResult> {
  let text: string;
  try {
    text = await deps.readFile(file);
  } catch (err) {
    return { file, ok: false, cases: [], errors: [`${file}: cannot read: ${errorText(err)}`] };
  }
  const parsed = validateYaml(text, file, FixtureFileSchema);
  if (!parsed.ok) return { file, ok: false, cases: [], errors: parsed.issues.map(formatIssue) };

  const policyPath = resolve(dirname(file), parsed.value.policy);
  let loading = policies.get(policyPath);
  if (loading === undefined) {
    loading = readPolicy(policyPath, deps);
    policies.set(policyPath, loading);
  }
  const policy = await loading;
  if (!('rules' in policy)) {
    return {
      file,
      ok: false,
      cases: [],
      errors: [`${file}: its policy does not load:`, ...policy.map(formatIssue)],
    };
  }
  const fileNow = parsed.value.now === undefined ? deps.now : new Date(parsed.value.now);
  const cases = parsed.value.cases.map((c) => runCase(policy, c, fileNow));
  return { file, ok: cases.every((c) => c.ok), cases, errors: [] };
}

async function readPolicy(path: string, deps: FixtureDeps): Promise<CompiledPolicy | readonly PolicyIssue[]> {
  let text: string;
  try {
    text = await deps.readFile(path);
  } catch (err) {
    return [{ file: path, line: 1, column: 1, path: '', message: `cannot read: ${errorText(err)}` }];
  }
  const loaded = loadPolicy(text, path);
  return loaded.ok ? loaded.policy : loaded.issues;
}

export function runCase(policy: CompiledPolicy, c: FixtureCase, now: Date): CaseResult {
  const headers: Record<string, string | readonly string[]> = {};
  for (const [k, v] of Object.entries(c.headers ?? {})) headers[k.toLowerCase()] = v;
  const body =
    c.body === undefined
      ? undefined
      : Buffer.from(typeof c.body === 'string' ? c.body : JSON.stringify(c.body), 'utf8');
  if (body !== undefined && typeof c.body !== 'string' && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/json';
  }
  let object: TargetObject = null;
  if (c.object !== undefined) object = c.object;
  else if (c.objectLabels !== undefined) object = { metadata: { labels: c.objectLabels } };

  const { report } = evalRequest(policy, {
    method: c.method,
    target: c.path,
    headers,
    ...(body === undefined ? {} : { body }),
    user: c.user ?? 'fixture-user',
    groups: c.groups ?? [],
    object,
    now: c.now === undefined ? now : new Date(c.now),
  });

  const diff: string[] = [];
  if (report.decision !== c.expect.decision) {
    diff.push(`decision: want ${c.expect.decision}, got ${report.decision}`);
  }
  const gotRules = report.rules.map((r) => r.name);
  if (c.expect.rules !== undefined && gotRules.join('\n') !== c.expect.rules.join('\n')) {
    diff.push(`rules:    want [${c.expect.rules.join(', ')}], got [${gotRules.join(', ')}]`);
  }
  if (c.expect.message !== undefined && report.message !== c.expect.message) {
    diff.push(
      `message:  want ${JSON.stringify(c.expect.message)}`,
      `          got  ${JSON.stringify(report.message)}`,
    );
  }
  const gotApprovals = (report.approval?.requirements ?? []).map(approvalText);
  if (c.expect.approvals !== undefined && gotApprovals.join('\n') !== c.expect.approvals.join('\n')) {
    diff.push(`approvals: want [${c.expect.approvals.join(', ')}], got [${gotApprovals.join(', ')}]`);
  }
  if (diff.length > 0 && report.decision === 'reject' && c.expect.decision !== 'reject') {
    diff.push(`(the request was rejected before policy: ${report.message ?? ''})`);
  }
  return { name: c.name, ok: diff.length === 0, diff, report };
}

/** A requirement as fixtures write it: `2 of group:sre`, stages joined with ` then `. */
function approvalText(requirement: ApprovalJson): string {
  return requirement.stages.map((s) => `${s.count} of ${s.approvers.join(' or ')}`).join(' then ');
}

/** Human-readable results: one line per case, the diff under each failure, then a summary. */
export function formatFixtureResults(results: readonly FixtureFileResult[]): string {
  const lines: string[] = [];
  let passed = 0;
  let failed = 0;
  for (const r of results) {
    lines.push(r.file);
    if (r.errors.length > 0) {
      lines.push(...r.errors.map((e) => `  ${e}`));
      failed++;
    }
    for (const c of r.cases) {
      if (c.ok) {
        passed++;
        lines.push(`  ✓ ${c.name}`);
      } else {
        failed++;
        lines.push(`  ✗ ${c.name}`, ...c.diff.map((d) => `      ${d}`));
      }
    }
  }
  lines.push('', `${passed} passed, ${failed} failed`);
  return lines.join('\n');
}

function errorText(err: unknown): string {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}
