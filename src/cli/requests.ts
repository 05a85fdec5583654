// `kubegate requests list|show|approve|deny|cancel|watch|wait`: the reviewer's (and, for
// `list --mine`, cancel and wait, the requester's) command line, a thin layer over
// the reviewer REST API (reviewer-client.ts) with the reviewer's own kubeconfig. It prints what a
// reviewer needs to decide — the kubectl-equivalent command, who asked, the rules, the live
// labels, the dry-run diff, the objects, the exec command — and the refusals kubegate gives.
// Must never print a byte that came over the wire raw: names, comments, diffs and commands are
// the requester's words, so control, format and line-separator characters are escaped before
// they reach the terminal (a hostile name must not redraw what the reviewer reads).
import type { Standing } from '../approvals/standing.js';
import type { Command } from 'commander';
import { describeFailure, KubegateError } from '../errors.js';
import type { Approver } from '../policy/decision.js';
import type { PendingRequest, ReviewerContext } from '../approvals/types.js';
import { progressOf } from '../approvals/state-machine.js';
import { needsText } from '../approvals/messages.js';
import type { RequestView, WatchEvent } from '../web/api-types.js';
import { shellQuote } from '../request/kubectl-command.js';
import { subjectLabel } from '../identity/agents.js';
import { clientFromFlags, type ReviewerClient } from './reviewer-client.js';

export interface ConnectFlags {
  readonly kubeconfig?: string;
  readonly context?: string;
}

export interface RequestsCliDeps {
  /** One line of output (stdout). */
  readonly print: (line: string) => void;
  /** One line of error output (stderr). */
  readonly printError: (line: string) => void;
  readonly setExitCode: (code: number) => void;
  readonly connect: (flags: ConnectFlags) => Promise<ReviewerClient>;
  /** Milliseconds since the epoch (ages in `list`, times in `watch`). */
  readonly now: () => number;
  /** Ends `watch`; by default Ctrl-C. */
  readonly watchSignal: () => AbortSignal;
  /** Before `watch` reconnects after its stream ended. */
  readonly reconnectDelay: (signal: AbortSignal) => Promise<void>;
}

const defaultDeps: RequestsCliDeps = {
  print: (line) => console.log(line),
  printError: (line) => console.error(line),
  setExitCode: (code) => {
    process.exitCode = code;
  },
  connect: clientFromFlags,
  now: () => Date.now(),
  watchSignal: () => {
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    return abort.signal;
  },
  reconnectDelay: (signal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    }),
};

interface ListFlags extends ConnectFlags {
  readonly all?: boolean;
  readonly mine?: boolean;
  readonly json?: boolean;
}

interface ApproveFlags extends ConnectFlags {
  readonly comment?: string;
  readonly breakGlass?: string;
  readonly standing?: string;
  readonly scope?: string;
}

export function registerRequests(program: Command, overrides: Partial<RequestsCliDeps> = {}): void {
  const deps: RequestsCliDeps = { ...defaultDeps, ...overrides };
  const requests = program
    .command('requests')
    .description('review requests held for approval: list, show, approve, deny, cancel, watch, wait');

  const withConnection = (cmd: Command): Command =>
    cmd
      .option('--kubeconfig <file>', 'your reviewer kubeconfig (default: $KUBECONFIG or ~/.kube/config)')
      .option('--context <name>', 'the kubeconfig context to use (default: its current-context)');

  /** Runs a command with a client; prints kubegate's refusal and exits 1 instead of a stack. */
  async function run(flags: ConnectFlags, body: (client: ReviewerClient) => Promise<void>): Promise<void> {
    let client: ReviewerClient | null = null;
    try {
      client = await deps.connect(flags);
      await body(client);
    } catch (err) {
      if (!(err instanceof KubegateError)) throw err;
      deps.printError(term(err.message));
      deps.setExitCode(1);
    } finally {
      await client?.close();
    }
  }

  withConnection(requests.command('list'))
    .description('list requests waiting for approval (with --all: every request you may see)')
    .option('--all', 'include approved, denied, expired and withdrawn requests')
    .option('--mine', 'only your own requests (as the requester)')
    .option('--json', 'print the API answer as JSON')
    .action((flags: ListFlags) =>
      run(flags, async (client) => {
        const list = await client.list({
          ...(flags.all === true ? {} : { state: 'pending' as const }),
          ...(flags.mine === true ? { mine: true } : {}),
        });
        if (flags.json === true) return deps.print(JSON.stringify(list, null, 2));
        if (list.items.length === 0) {
          const whose = flags.mine === true ? ' of yours' : '';
          return deps.print(
            flags.all === true ? `No requests${whose}.` : `No requests${whose} are waiting for approval.`,
          );
        }
        for (const line of table(list.items, deps.now())) deps.print(line);
      }),
    );

  withConnection(requests.command('show'))
    .description('show one request: what it would do, who asked, the rules, the dry-run diff, the reviews')
    .argument('<id>', 'the request id (kg-…)')
    .option('--json', 'print the API answer as JSON')
    .action((id: string, flags: ConnectFlags & { json?: boolean }) =>
      run(flags, async (client) => {
        const view = await client.get(id);
        if (flags.json === true) return deps.print(JSON.stringify(view, null, 2));
        for (const line of describe(view, new Date(deps.now()))) deps.print(line);
      }),
    );

  withConnection(requests.command('approve'))
    .description('approve a request (your own only with --break-glass, where a rule allows it)')
    .argument('<id>', 'the request id (kg-…)')
    .option('--comment <text>', 'a comment for the requester and the audit trail')
    .option('--break-glass <reason>', 'approve your own request, saying why (flagged and notified)')
    .option(
      '--standing <duration>',
      'also let more like it through for this long (e.g. 30m), where the rules allow a standing approval',
    )
    .option('--scope <scope>', 'with --standing: identical (the same request again; default) or rule')
    .action((id: string, flags: ApproveFlags) =>
      run(flags, async (client) => {
        const view = await client.approve(id, {
          ...(flags.comment === undefined ? {} : { comment: flags.comment }),
          ...(flags.breakGlass === undefined ? {} : { breakGlassReason: flags.breakGlass }),
          ...(flags.standing === undefined
            ? {}
            : { standing: { duration: flags.standing, scope: flags.scope ?? 'identical' } }),
        });
        for (const line of afterReview(view, 'approve', flags.breakGlass, new Date(deps.now())))
          deps.print(line);
      }),
    );

  withConnection(requests.command('deny'))
    .description('deny a request; the requester sees your comment')
    .argument('<id>', 'the request id (kg-…)')
    .requiredOption('--comment <text>', 'why (the requester sees it)')
    .action((id: string, flags: ConnectFlags & { comment: string }) =>
      run(flags, async (client) => {
        const view = await client.deny(id, flags.comment);
        for (const line of afterReview(view, 'deny', undefined, new Date(deps.now()))) deps.print(line);
      }),
    );

  withConnection(requests.command('revoke'))
    .description("end a request's standing approval now (its requester or one of its approvers)")
    .argument('<id>', 'the request id (kg-…)')
    .action((id: string, flags: ConnectFlags) =>
      run(flags, async (client) => {
        const view = await client.revoke(id);
        deps.print(
          `Revoked the standing approval of ${term(view.id)}: requests like it ask for approval again.`,
        );
      }),
    );

  withConnection(requests.command('cancel'))
    .description('withdraw your own pending request; a command still waiting for it ends at once')
    .argument('<id>', 'the request id (kg-…)')
    .action((id: string, flags: ConnectFlags) =>
      run(flags, async (client) => {
        const view = await client.cancel(id);
        deps.print(`Withdrew ${term(view.id)}. Nothing was sent; running the command again asks anew.`);
      }),
    );

  withConnection(requests.command('wait'))
    .description(
      'wait for your own request to be decided, printing who must still approve; exit 0 when approved, 1 otherwise',
    )
    .argument('<id>', 'the request id (kg-…)')
    .action((id: string, flags: ConnectFlags) =>
      run(flags, async (client) => {
        deps.setExitCode(await waitFor(client, id, deps));
      }),
    );

  withConnection(requests.command('watch'))
    .description('print request events as they happen (Ctrl-C to stop)')
    .option('--json', 'print each event as one line of JSON')
    .action((flags: ConnectFlags & { json?: boolean }) =>
      run(flags, async (client) => {
        const signal = deps.watchSignal();
        const onEvent = (event: WatchEvent): void =>
          deps.print(flags.json === true ? JSON.stringify(event) : eventLine(event, deps.now()));
        deps.printError(`Watching requests at ${client.server} (Ctrl-C to stop).`);
        while (!signal.aborted) {
          try {
            await client.watch(onEvent, signal);
          } catch (err) {
            // A refusal (401, 403, 404) will not change by retrying; a broken stream may.
            if (err instanceof KubegateError && err.code !== 'KG_CLI_NO_ANSWER') throw err;
            if (signal.aborted) break;
            deps.printError(
              term(`The watch was interrupted (${describeFailure(err, 'connection lost')}); reconnecting.`),
            );
          }
          if (signal.aborted) break;
          await deps.reconnectDelay(signal);
        }
      }),
    );
}

// ---- requests wait ------------------------------------------------------------------------

/** What the requester has been told so far, so that only changes are printed. */
function progressKey(p: PendingRequest): string {
  return JSON.stringify([p.state, p.mode, p.stageIndex, p.reviews.length, p.escalated, p.grantUsed]);
}

/**
 * Follows one of the caller's own requests until it is decided: first what it is and who must
 * approve, then a line per change (from the live event stream, re-read whenever the stream
 * (re)opens so nothing between the read and the stream is missed). Returns the exit code: 0 when
 * approved, 1 when denied, expired or withdrawn, or when stopped (Ctrl-C) while still pending.
 */
async function waitFor(client: ReviewerClient, id: string, deps: RequestsCliDeps): Promise<number> {
  const first = await client.get(id);
  const mine = await client.list({ mine: true });
  if (!mine.items.some((p) => p.id === first.id)) {
    throw new KubegateError(
      'KG_REVIEW_NOT_REQUESTER',
      `${term(first.id)} was asked by ${term(first.requester.user)}, not you: \`requests wait\` follows your own requests (see it with \`kubegate requests show ${shellQuote(first.id)}\`)`,
    );
  }
  deps.print(`${term(first.id)}: ${term(first.request.kubectlEquivalent)}`);
  let told = '';
  let outcome: number | null = null;
  const seen = (p: PendingRequest): void => {
    if (outcome !== null || p.id !== first.id) return;
    const key = progressKey(p);
    if (key === told) return;
    const start = told === '';
    told = key;
    const lines = waitLines(p, start, new Date(deps.now()));
    for (const line of lines.out) deps.print(line);
    if (lines.exitCode !== null) {
      outcome = lines.exitCode;
      stop.abort();
    }
  };
  const stop = new AbortController();
  const signal = AbortSignal.any([deps.watchSignal(), stop.signal]);
  seen(first);
  while (outcome === null && !signal.aborted) {
    try {
      await client.watch(
        (event) => seen(event.pending),
        signal,
        () => {
          client.get(id).then(seen, () => undefined);
        },
      );
    } catch (err) {
      if (err instanceof KubegateError && err.code !== 'KG_CLI_NO_ANSWER') throw err;
      if (signal.aborted) break;
      deps.printError(
        term(`The live updates were interrupted (${describeFailure(err, 'connection lost')}); reconnecting.`),
      );
    }
    if (outcome !== null || signal.aborted) break;
    await deps.reconnectDelay(signal);
    if (!signal.aborted) seen(await client.get(id));
  }
  if (outcome !== null) return outcome;
  deps.printError(`Stopped waiting; ${term(first.id)} is still pending.`);
  return 1;
}

/** The lines for a change of the request the requester waits on, and the exit code once decided. */
function waitLines(
  p: PendingRequest,
  start: boolean,
  now: Date,
): { readonly out: string[]; readonly exitCode: number | null } {
  const id = term(p.id);
  const latest = p.reviews.at(-1);
  const byWhom =
    !start && latest !== undefined
      ? `${term(latest.reviewer)} ${latest.decision === 'approve' ? 'approved' : 'denied'}. `
      : '';
  switch (p.state) {
    case 'pending': {
      const waiting =
        p.mode === 'hold'
          ? 'your command is waiting and goes through once approved'
          : 'nothing was sent: once approved, run the same command again and it goes through once';
      return {
        out: [`${byWhom}Pending (${waiting}).`, `Who must still approve: ${needsText(p, now)}.`],
        exitCode: null,
      };
    }
    case 'approved': {
      const by = p.reviews.filter((r) => r.decision === 'approve').map((r) => term(r.reviewer));
      const who = by.length === 0 ? '' : ` by ${by.join(', ')}`;
      return { out: [`Approved${who}: ${requesterGrantText(p)}`], exitCode: 0 };
    }
    case 'denied': {
      const deny = [...p.reviews].reverse().find((r) => r.decision === 'deny');
      const comment = deny === undefined || deny.comment === '' ? '' : `: "${term(deny.comment)}"`;
      return {
        out: [`Denied by ${term(deny?.reviewer ?? 'a reviewer')}${comment}. Nothing was sent (${id}).`],
        exitCode: 1,
      };
    }
    case 'expired':
      return { out: [`${id} expired without a decision. Nothing was sent.`], exitCode: 1 };
    case 'withdrawn':
      return { out: [`${id} was withdrawn. Nothing was sent.`], exitCode: 1 };
    default: {
      const unreachable: never = p.state;
      return { out: [String(unreachable)], exitCode: 1 };
    }
  }
}

/** grantText, said to the requester: did the waiting command go through, or do they re-run it? */
function requesterGrantText(p: PendingRequest): string {
  const until = p.grantExpiresAt === null ? '' : ` until ${term(p.grantExpiresAt)}`;
  if (p.mode === 'hold') {
    return p.grantUsed
      ? 'your waiting command went through.'
      : `your waiting command goes through now (if it stopped waiting, run it again: it goes through once${until}).`;
  }
  if (p.grantUsed) return 'its one re-run was used.';
  return `nothing was sent: run the same command again and it goes through once${until}.`;
}

// ---- what is printed ----------------------------------------------------------------------

/** Control, format and line/paragraph separators: escaped before anything reaches the terminal. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
const UNPRINTABLE_BUT_NEWLINE = /(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

function escapeChar(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  const cp = c.codePointAt(0)!;
  return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** One line of someone else's text, safe for a terminal. */
export function term(text: string): string {
  return text.replace(UNPRINTABLE, escapeChar);
}

/** Several lines of someone else's text (a diff): newlines kept, everything else escaped. */
function termLines(text: string): string[] {
  return text
    .replace(/\n$/u, '')
    .split('\n')
    .map((line) => line.replace(UNPRINTABLE_BUT_NEWLINE, escapeChar));
}

function age(fromIso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7_200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3_600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

function youColumn(view: RequestView): string {
  const e = view.eligibility;
  if (e.canReview) return 'can review';
  if (e.breakGlass) return 'break-glass';
  return e.refusal ?? '';
}

function cutText(text: string, max: number): string {
  const points = Array.from(text);
  return points.length > max ? `${points.slice(0, max - 1).join('')}…` : text;
}

function table(items: readonly RequestView[], now: number): string[] {
  const rows = [
    ['ID', 'STATE', 'AGE', 'REQUESTER', 'YOU', 'COMMAND'],
    ...items.map((v) => [
      term(v.id),
      v.state,
      age(v.createdAt, now),
      term(subjectLabel(v.requester)),
      youColumn(v),
      term(cutText(v.request.kubectlEquivalent, 80)),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => Array.from(r[i]!).length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - Array.from(cell).length)))
      .join('  ')
      .trimEnd(),
  );
}

function approverText(approvers: readonly Approver[]): string {
  return approvers.map((a) => `${a.kind} ${term(a.name)}`).join(' or ');
}

function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(16)} ${value}`;
}

/** A standing approval as `requests show` prints it. */
function standingLine(s: Standing, now: Date): string {
  const what =
    s.scope === 'identical'
      ? 'the same request again'
      : "the requester's requests under the same rules, same verb and resource, in this namespace";
  const used = `used ${s.uses} time${s.uses === 1 ? '' : 's'}`;
  if (s.revokedAt !== null)
    return `revoked by ${term(s.revokedBy ?? '?')} at ${term(s.revokedAt)} (${used}; it covered ${what})`;
  if (Date.parse(s.until) <= now.getTime()) return `ended at ${term(s.until)} (${used}; it covered ${what})`;
  return `covers ${what} until ${term(s.until)}, given by ${term(s.grantedBy)}; ${used} (kubegate requests revoke ID ends it)`;
}

function describe(view: RequestView, now: Date): string[] {
  const p = view;
  const out: string[] = [];
  out.push(`${term(p.id)}  ${p.state.toUpperCase()}  (${p.mode} mode)`);
  out.push(field('Command', term(p.request.kubectlEquivalent)));
  const groups =
    p.requester.groups.length === 0 ? 'no groups' : `groups: ${p.requester.groups.map(term).join(', ')}`;
  out.push(field('Requested by', `${term(subjectLabel(p.requester))} (${groups}) at ${term(p.createdAt)}`));
  out.push(field('Reason', p.reason === undefined ? '(none given)' : `"${term(p.reason)}"`));
  if (p.request.kubectlCommand !== '') {
    out.push(field('Kubectl-Command', `${term(p.request.kubectlCommand)}  (as kubectl reported it)`));
  }
  const query = p.request.rawQuery === '' ? '' : `?${p.request.rawQuery}`;
  out.push(field('Request', term(`${p.request.method} ${p.request.path}${query}`)));
  out.push('Rules:');
  if (p.rules.length === 0) out.push('  (none: the policy defaults ask for approval)');
  for (const rule of p.rules) {
    const message = rule.message === undefined ? '' : `: ${term(rule.message)}`;
    const failed =
      rule.failedClosed === undefined ? '' : `  [applied without checking: ${term(rule.failedClosed)}]`;
    out.push(`  ${term(rule.name)} (${rule.action})${message}${failed}`);
  }
  out.push('Approvals needed:');
  const progress = progressOf(p, now);
  p.requirements.forEach((req, i) => {
    const at = p.stageIndex[i] ?? 0;
    const who = req.rule === null ? 'policy defaults' : term(req.rule);
    req.stages.forEach((stage, j) => {
      const current = j === at && p.state === 'pending' ? progress[i] : undefined;
      const mark =
        j < at
          ? '  done'
          : current !== undefined
            ? `  ← now${missing(current.needed, current.approvedBy)}`
            : '';
      out.push(
        `  ${who}, stage ${term(stage.name)}: ${stage.count} of ${approverText(stage.approvers)}${mark}`,
      );
    });
    if (req.message !== undefined) out.push(`    ${term(req.message)}`);
    if (req.breakGlass)
      out.push('    the requester may approve it themselves with a written reason (break-glass)');
    if (req.escalateTo.length > 0) {
      const when = p.escalated
        ? 'escalated to'
        : `escalates${p.escalateAt === null ? '' : ` at ${term(p.escalateAt)}`} to`;
      out.push(`    ${when} ${approverText(req.escalateTo)}`);
    }
  });
  out.push(field('Expires', p.expiresAt === null ? 'never' : term(p.expiresAt)));
  if (p.standing !== undefined) out.push(field('Standing', standingLine(p.standing, now)));
  out.push(...contextLines(p.context));
  out.push('Reviews:');
  if (p.reviews.length === 0) out.push('  none yet');
  for (const r of p.reviews) {
    const groups = r.reviewerGroups.length === 0 ? '' : ` (${r.reviewerGroups.map(term).join(', ')})`;
    const comment = r.comment === '' ? '' : `: "${term(r.comment)}"`;
    const glass = r.breakGlass ? '  [BREAK-GLASS]' : '';
    out.push(
      `  ${term(r.at)}  ${term(r.reviewer)}${groups} ${r.decision === 'approve' ? 'approved' : 'denied'}${comment}${glass}`,
    );
  }
  out.push(field('State', stateLine(p)));
  out.push(field('You', youLine(view)));
  if (view.url !== null) out.push(field('Link', term(view.url)));
  return out;
}

function contextLines(ctx: ReviewerContext | null): string[] {
  if (ctx === null) return [field('Context', 'not collected yet')];
  const out: string[] = [];
  if (ctx.targetLabels !== null) {
    const labels = Object.entries(ctx.targetLabels).map(([k, v]) => `${term(k)}=${term(v)}`);
    out.push(field('Target labels', labels.length === 0 ? '(none)' : labels.join(', ')));
  }
  if (ctx.exec !== null) {
    const command =
      ctx.exec.command.length === 0 ? '(attach: no command)' : ctx.exec.command.map(shellQuote).join(' ');
    out.push(
      field(
        'Exec',
        `${command}  (container: ${ctx.exec.container === '' ? 'default' : term(ctx.exec.container)})`,
      ),
    );
  }
  if (ctx.dryRun !== null) {
    out.push(
      field(
        'Dry run',
        ctx.dryRun.message === null
          ? `${ctx.dryRun.status}: the API server accepts it (as the requester)`
          : `refused: ${term(ctx.dryRun.message)}`,
      ),
    );
  }
  if (ctx.diff !== null) {
    if (ctx.diff === '') out.push(field('Diff', 'no change to the live object'));
    else {
      out.push('Diff (live → dry run):');
      for (const line of termLines(ctx.diff)) out.push(`  ${line}`);
    }
  }
  if (ctx.objects !== null) {
    out.push(`Would delete (${ctx.objects.length}):`);
    if (ctx.objects.length === 0) out.push('  nothing (no object matches)');
    for (const o of ctx.objects) out.push(`  ${term(o)}`);
  }
  if (ctx.notes.length > 0) {
    out.push('Notes:');
    for (const n of ctx.notes) out.push(`  - ${term(n)}`);
  }
  return out;
}

function stateLine(p: PendingRequest): string {
  switch (p.state) {
    case 'pending':
      if (p.mode === 'hold') return 'pending (the command is waiting)';
      return p.requesterLeftAt === null
        ? 'pending (the requester re-runs the command once approved)'
        : `pending (the requester is no longer waiting: the command stopped at ${term(p.requesterLeftAt)}; once approved, the requester re-runs it once)`;
    case 'approved': {
      if (p.grantExpiresAt === null)
        return `approved${p.decidedAt === null ? '' : ` at ${term(p.decidedAt)}`}`;
      if (p.standing !== undefined)
        return `approved${p.decidedAt === null ? '' : ` at ${term(p.decidedAt)}`}, with a standing approval (above)`;
      return `approved; ${grantText(p)}`;
    }
    case 'denied':
      return `denied${p.decidedAt === null ? '' : ` at ${term(p.decidedAt)}`}`;
    case 'expired':
      return `expired${p.decidedAt === null ? '' : ` at ${term(p.decidedAt)}`} without a decision`;
    case 'withdrawn':
      return `withdrawn by its requester${p.decidedAt === null ? '' : ` at ${term(p.decidedAt)}`}`;
    default: {
      const unreachable: never = p.state;
      return String(unreachable);
    }
  }
}

/**
 * What an approval lets happen now. Hold mode: the requester's kubectl is still waiting on its
 * connection and carries on by itself. Deferred mode (by the rule, or because the held command
 * stopped waiting): nothing is sent until the requester re-runs the command.
 */
function grantText(p: PendingRequest): string {
  const until = p.grantExpiresAt === null ? '' : ` until ${term(p.grantExpiresAt)}`;
  if (p.mode === 'hold') {
    // Unused for a moment only: the waiting client takes it (had it left, the request would be deferred).
    return p.grantUsed
      ? 'the command went through'
      : `the waiting command goes through now (if it stopped waiting, the same command goes through once if re-run${until})`;
  }
  if (p.grantUsed) return 'its one re-run was used';
  const left = p.requesterLeftAt === null ? '' : 'the requester is no longer waiting, so nothing was sent: ';
  return `${left}the requester may re-run the command once${until}`;
}

/** "1 more (approved so far by bob)": what the current stage still lacks, once someone approved. */
function missing(needed: number, approvedBy: readonly string[]): string {
  if (approvedBy.length === 0) return '';
  return `: ${needed} more (approved so far by ${approvedBy.map(term).join(', ')})`;
}

function youLine(view: RequestView): string {
  const id = shellQuote(view.id);
  const e = view.eligibility;
  if (e.canReview) {
    return `you may review it: kubegate requests approve ${id}  |  kubegate requests deny ${id} --comment '…'`;
  }
  const why = e.message === null ? 'you may not review it' : `you cannot review it: ${term(e.message)}`;
  return e.breakGlass ? `${why}; break-glass: kubegate requests approve ${id} --break-glass 'REASON'` : why;
}

/** Per open requirement: "1 more of group sre" for its current stage, then its later stages. */
function stillNeeded(p: PendingRequest, now: Date): string[] {
  const out: string[] = [];
  for (const progress of progressOf(p, now)) {
    if (progress.stage === null) continue;
    const req = progress.requirement;
    const who = req.rule === null ? 'policy defaults' : term(req.rule);
    const so =
      progress.approvedBy.length === 0
        ? ''
        : ` (approved so far by ${progress.approvedBy.map(term).join(', ')})`;
    const later = progress.later.map((s) => `, then ${s.count} of ${approverText(s.approvers)}`).join('');
    out.push(
      `  ${who}, stage ${term(progress.stage.name)}: ${progress.needed} more of ${approverText(progress.approvers)}${so}${later}`,
    );
  }
  return out;
}

function afterReview(
  view: RequestView,
  decision: 'approve' | 'deny',
  breakGlass: string | undefined,
  now: Date,
): string[] {
  const p = view;
  const id = term(p.id);
  if (decision === 'deny') return [`Denied ${id}. The requester sees your comment.`];
  const out = [
    breakGlass === undefined
      ? `Approved ${id}.`
      : `Approved your own request ${id} with break-glass ("${term(breakGlass)}"). This is flagged in the audit trail and notified.`,
  ];
  if (p.state === 'pending') {
    out.push('It still needs:', ...stillNeeded(p, now));
  } else {
    out.push(`The request is now ${stateLine(p)}.`);
  }
  return out;
}

function eventLine(event: WatchEvent, now: number): string {
  const p = event.pending;
  const time = new Date(now).toISOString().replace(/\.\d{3}Z$/u, 'Z');
  let detail: string;
  switch (event.type) {
    case 'created':
      detail = `${term(subjectLabel(p.requester))}: ${term(p.request.kubectlEquivalent)}`;
      break;
    case 'reviewed': {
      const r = event.review;
      const verb = r?.decision === 'deny' ? 'denied' : 'approved';
      const comment = r === null || r.comment === '' ? '' : `: "${term(r.comment)}"`;
      detail = `${term(r?.reviewer ?? '?')} ${verb}${comment}${r?.breakGlass === true ? '  [BREAK-GLASS]' : ''}`;
      break;
    }
    case 'decided':
      detail = p.state;
      break;
    case 'escalated':
      detail = `escalated to ${p.requirements
        .flatMap((r) => r.escalateTo)
        .map((a) => `${a.kind} ${term(a.name)}`)
        .join(', ')}`;
      break;
    case 'expired':
      detail = 'expired without a decision';
      break;
    case 'context':
      detail = 'reviewer context ready';
      break;
    case 'granted':
      detail = p.mode === 'hold' ? 'the approved command went through' : 'the approved command was re-run';
      break;
    case 'updated':
      detail =
        p.requesterLeftAt === null
          ? 'the requester re-ran the command: it waits again'
          : 'the requester is no longer waiting: an approval lets their re-run through once';
      break;
    default: {
      const unreachable: never = event.type;
      detail = String(unreachable);
    }
  }
  return `${time}  ${event.type.padEnd(9)}  ${term(p.id)}  ${detail}`;
}
