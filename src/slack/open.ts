// Slack interactivity from config `slack`: reads the signing secret (and the bot token, when email
// lookup is on) from their files and builds the endpoint and the notifier's Slack options.
//
// Place: called by the composition root (main.ts) at startup. Input: the `slack` config slice.
// Output: the message options (buttons on, requester mentions) and, once the approval service
// exists, the endpoint. Must never: log or echo a secret; start with an empty secret (every
// signature would then be computable by anyone).
import { readFile } from 'node:fs/promises';
import type { SlackMessageOptions } from '../approvals/notify.js';
import type { ApprovalService } from '../approvals/types.js';
import { describeFailure, KubegateError } from '../errors.js';
import {
  createSlackInteractivity,
  type SlackInteractivity,
  type SlackInteractivityLog,
} from './interactivity.js';
import { createSlackPeople, type SlackUserEntry } from './people.js';

export interface SlackConfig {
  readonly signingSecretFile: string;
  readonly users: readonly SlackUserEntry[];
  readonly teamIds?: readonly string[];
  readonly lookup?: { readonly botTokenFile: string; readonly apiUrl: string } | undefined;
}

export interface OpenedSlack {
  readonly message: SlackMessageOptions;
  serve(approvals: Pick<ApprovalService, 'review' | 'get'>): SlackInteractivity;
}

async function secretFrom(path: string, field: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `${field}: ${path} cannot be read (${describeFailure(err, 'unreadable')})`,
      { cause: err },
    );
  }
  const secret = text.trim();
  if (secret === '') throw new KubegateError('KG_CONFIG_INVALID', `${field}: ${path} is empty`);
  return secret;
}

export async function openSlack(
  config: SlackConfig,
  deps: {
    readonly publicUrl: string | null;
    readonly log: SlackInteractivityLog;
    readonly now: () => Date;
    readonly fetch?: typeof globalThis.fetch;
  },
): Promise<OpenedSlack> {
  const signingSecret = await secretFrom(config.signingSecretFile, 'slack.signingSecretFile');
  const lookup =
    config.lookup === undefined
      ? null
      : {
          apiUrl: config.lookup.apiUrl,
          botToken: await secretFrom(config.lookup.botTokenFile, 'slack.lookup.botTokenFile'),
        };
  const people = createSlackPeople({
    users: config.users,
    lookup,
    log: deps.log,
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
  });
  const message: SlackMessageOptions = { interactive: true, slackIdOf: (user) => people.slackIdOf(user) };
  return {
    message,
    serve: (approvals) =>
      createSlackInteractivity({
        signingSecret,
        people,
        teamIds: config.teamIds ?? [],
        approvals,
        publicUrl: deps.publicUrl,
        message,
        log: deps.log,
        now: deps.now,
        ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
      }),
  };
}
