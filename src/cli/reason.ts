// `kubegate reason "…"`: the requester says why, before the command that will be held (kubectl
// cannot carry a reason). The reason waits on kubegate for the caller's next held request (15
// minutes by default, --for to change it), then goes with that request: reviewers see it, the
// audit trail keeps it. `kubegate reason` alone shows the reason waiting; --clear drops it;
// --request ID gives or changes the reason of a request already pending.
// Input: the text and the caller's kubeconfig (the same credential kubectl uses with kubegate).
// Output: what kubegate kept, or its refusal (exit 1). Must never print the text raw: it is
// escaped like every other word that came over the wire.
import type { Command } from 'commander';
import { KubegateError } from '../errors.js';
import { formatDuration, parseDuration } from '../policy/duration.js';
import { MAX_REASON_TTL_MS } from '../approvals/reasons.js';
import { term, type ConnectFlags } from './requests.js';
import { clientFromFlags, type ReviewerClient } from './reviewer-client.js';

export interface ReasonCliDeps {
  readonly print: (line: string) => void;
  readonly printError: (line: string) => void;
  readonly setExitCode: (code: number) => void;
  readonly connect: (flags: ConnectFlags) => Promise<ReviewerClient>;
}

const defaultDeps: ReasonCliDeps = {
  print: (line) => console.log(line),
  printError: (line) => console.error(line),
  setExitCode: (code) => {
    process.exitCode = code;
  },
  connect: clientFromFlags,
};

interface ReasonFlags extends ConnectFlags {
  readonly for?: string;
  readonly clear?: boolean;
  readonly request?: string;
}

export function registerReason(program: Command, overrides: Partial<ReasonCliDeps> = {}): void {
  const deps: ReasonCliDeps = { ...defaultDeps, ...overrides };
  program
    .command('reason')
    .description('say why: a short reason kubegate attaches to your next held request, for its reviewers')
    .argument('[text]', 'the reason, one line (a ticket, an incident, a few words)')
    .option('--for <duration>', 'how long it waits for your next held request (default 15m, at most 24h)')
    .option('--request <id>', 'give or change the reason of your pending request instead')
    .option('--clear', 'drop the reason waiting for your next request')
    .option('--kubeconfig <file>', 'your kubeconfig (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'the kubeconfig context to use (default: its current-context)')
    .action(async (text: string | undefined, flags: ReasonFlags) => {
      let client: ReviewerClient | null = null;
      try {
        const ttlSeconds = flags.for === undefined ? undefined : ttlOf(flags.for);
        client = await deps.connect(flags);
        if (flags.request !== undefined) {
          if (text === undefined) throw usage('give the reason: kubegate reason --request ID "…"');
          const view = await client.giveReason(flags.request, text);
          deps.print(
            `The reason of ${term(view.id)} is now "${term(view.reason ?? '')}"; its reviewers see it.`,
          );
          return;
        }
        if (flags.clear === true) {
          await client.clearNextReason();
          deps.print('No reason is waiting for your next request now.');
          return;
        }
        const view =
          text === undefined ? await client.nextReason() : await client.setNextReason(text, ttlSeconds);
        deps.print(
          view.reason === null
            ? 'No reason is waiting for your next request. Set one: kubegate reason "…"'
            : `Your next held request (until ${term(view.expiresAt ?? '')}) goes to its reviewers with the reason "${term(view.reason)}".`,
        );
      } catch (err) {
        if (!(err instanceof KubegateError)) throw err;
        deps.printError(term(err.message));
        deps.setExitCode(1);
      } finally {
        await client?.close();
      }
    });
}

function usage(message: string): KubegateError {
  return new KubegateError('KG_CONFIG_INVALID', message);
}

/** --for as whole seconds, within what kubegate accepts. */
function ttlOf(text: string): number {
  const parsed = parseDuration(text);
  if (!parsed.ok) throw usage(`--for takes a duration such as 15m or 1h: ${term(parsed.message)}`);
  const ms = parsed.ms;
  if (ms < 1000 || ms > MAX_REASON_TTL_MS) {
    throw usage(`--for must be between 1s and ${formatDuration(MAX_REASON_TTL_MS)}; got ${term(text)}`);
  }
  return Math.round(ms / 1000);
}
