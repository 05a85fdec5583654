// Slack's interactivity endpoint on kubegate's own path: a reviewer presses Approve or Deny on a
// kubegate Slack message, Slack POSTs the block_actions payload here, and the press becomes a
// review through the same approval service call the web UI and the CLI make.
//
//   POST /kubegate/slack/interactivity   signature → payload → Slack user → review → message update
//
// Place: mounted by web/own-api.ts ahead of its sign-in (Slack has no kubegate credential; the
// signing secret is its credential). Input: the raw request. Output: 200 with an empty body
// (Slack's acknowledgement) once the review is recorded; 401 for a missing, wrong, stale or
// replayed signature; 403 for a Slack user kubegate does not know (who is told so, privately);
// 400 for a body that is not a kubegate button press. The outcome is shown by replacing the
// original message through the payload's response_url (the review's refusal, e.g. "you may not
// approve your own request", as a message only the presser sees).
// Must never: act before the signature is checked against the raw bytes; log the signing
// secret, the bot token or a response_url's path (it lets anyone post into the channel); decide
// anything itself — who may approve, self-approval and counts are the approval service's rules,
// and the review is audited there like any other.
import type { ApprovalService, ReviewResult } from '../approvals/types.js';
import { slackPayload, type SlackMessageOptions } from '../approvals/notify.js';
import { requestUrl } from '../approvals/messages.js';
import type { ClientRequest } from '../gateway/read-body.js';
import type { ClientResponse } from '../upstream/forward.js';
import { KubegateError } from '../errors.js';
import { parseSlackAction, type SlackAction } from './payload.js';
import type { SlackPeople } from './people.js';
import { ReplayGuard, verifySlackRequest } from './signature.js';

export const SLACK_INTERACTIVITY_PATH = '/kubegate/slack/interactivity';

/** Slack's payloads carry the whole message (blocks included); well under this. */
const MAX_BODY_BYTES = 256 * 1024;

export interface SlackInteractivityLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface SlackInteractivityDeps {
  readonly signingSecret: string;
  readonly people: SlackPeople;
  /** Workspaces whose members may press (config slack.teamIds); empty: any the app is in. */
  readonly teamIds?: readonly string[];
  readonly approvals: Pick<ApprovalService, 'review' | 'get'>;
  readonly publicUrl: string | null;
  /** The notifier's Slack options, so the updated message looks like the one it replaces. */
  readonly message: SlackMessageOptions;
  readonly log: SlackInteractivityLog;
  readonly now: () => Date;
  readonly fetch?: typeof globalThis.fetch;
  readonly timeoutMs?: number;
}

export interface SlackInteractivity {
  handle(req: ClientRequest, res: ClientResponse): Promise<void>;
  /** Resolves once every response_url post started so far has ended (tests, shutdown). */
  idle(): Promise<void>;
}

const originOf = (url: string): string => {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
};

function answer(res: ClientResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text === '' ? '' : `${text}\n`);
}

/** The body, refused past MAX_BODY_BYTES (before the signature: it is over the whole body). */
async function rawBody(req: ClientRequest): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

const header = (req: ClientRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

export function createSlackInteractivity(deps: SlackInteractivityDeps): SlackInteractivity {
  const replays = new ReplayGuard();
  const doFetch = deps.fetch ?? globalThis.fetch;
  const inFlight = new Set<Promise<void>>();

  /** POSTs `body` to the press's response_url in the background; failures are logged. */
  function respond(action: SlackAction, body: object): void {
    const url = action.responseUrl;
    if (url === null) return;
    const post = (async () => {
      try {
        const res = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
          redirect: 'error',
        });
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) {
          deps.log.warn(
            { responseUrl: originOf(url), status: res.status, pendingId: action.pendingId },
            'slack response_url refused the update',
          );
        }
      } catch (err) {
        deps.log.warn(
          {
            responseUrl: originOf(url),
            pendingId: action.pendingId,
            err: err instanceof Error ? err.message : String(err),
          },
          'slack response_url could not be reached',
        );
      }
    })();
    inFlight.add(post);
    void post.finally(() => inFlight.delete(post));
  }

  const privately = (text: string) => ({ response_type: 'ephemeral', replace_original: false, text });

  function unknownUser(action: SlackAction): string {
    const where =
      deps.publicUrl === null
        ? `\`kubegate requests ${action.decision} ${action.pendingId}\``
        : `${requestUrl(deps.publicUrl, action.pendingId)} or \`kubegate requests ${action.decision} ${action.pendingId}\``;
    return `kubegate does not know your Slack account (${action.slackUserId}), so nothing was done. Ask a kubegate operator to add it under slack.users in kubegate's config; meanwhile review with ${where}.`;
  }

  async function reviewed(action: SlackAction, result: ReviewResult): Promise<void> {
    if (result.ok) {
      const review = result.pending.reviews.at(-1);
      if (review === undefined) return;
      respond(action, {
        replace_original: true,
        ...slackPayload({ type: 'reviewed', pending: result.pending, review }, deps.publicUrl, deps.now(), {
          ...deps.message,
        }),
      });
      return;
    }
    respond(action, privately(result.message));
    // Decided meanwhile (elsewhere, or by another press): show what it is now in place.
    if (result.refusal === 'not-pending') {
      const now = await deps.approvals.get(action.pendingId);
      if (now !== null) {
        respond(action, {
          replace_original: true,
          ...slackPayload({ type: 'decided', pending: now }, deps.publicUrl, deps.now(), deps.message),
        });
      }
    }
  }

  async function handle(req: ClientRequest, res: ClientResponse): Promise<void> {
    if (req.method !== 'POST') {
      throw new KubegateError('KG_API_METHOD', 'Slack interactions arrive as POST', { allow: ['POST'] });
    }
    const source = req.socket?.remoteAddress ?? null;
    const body = await rawBody(req);
    if (body === null) {
      deps.log.warn({ source }, 'slack request refused: body too large');
      return answer(res, 413, 'body too large');
    }
    const check = verifySlackRequest(
      {
        timestamp: header(req, 'x-slack-request-timestamp'),
        signature: header(req, 'x-slack-signature'),
        body,
      },
      deps.signingSecret,
      deps.now().getTime(),
      replays,
    );
    if (!check.ok) {
      deps.log.warn({ source, refusal: check.refusal }, 'slack request refused: signature');
      return answer(res, 401, 'signature refused');
    }
    const parsed = parseSlackAction(body, header(req, 'content-type'));
    if (!parsed.ok) {
      deps.log.warn({ source, problem: parsed.problem }, 'slack request refused: not a kubegate button');
      return answer(res, 400, parsed.problem);
    }
    const { action } = parsed;
    // A shared (Slack Connect) channel shows the buttons to other organisations' members too.
    const teams = deps.teamIds ?? [];
    if (teams.length > 0 && (action.teamId === null || !teams.includes(action.teamId))) {
      deps.log.warn(
        { slackUser: action.slackUserId, slackTeam: action.teamId, pendingId: action.pendingId },
        'slack request refused: another workspace',
      );
      respond(action, privately(unknownUser(action)));
      return answer(res, 403, 'unknown Slack workspace');
    }
    const person = await deps.people.resolve(action.slackUserId);
    if (person === null) {
      deps.log.warn(
        { slackUser: action.slackUserId, slackTeam: action.teamId, pendingId: action.pendingId },
        'slack request refused: unknown Slack user',
      );
      respond(action, privately(unknownUser(action)));
      return answer(res, 403, 'unknown Slack user');
    }
    const result = await deps.approvals.review(
      action.pendingId,
      person,
      action.decision,
      // Kept in the trail with the review: the Slack account that pressed, beside the person.
      `via Slack (${action.slackUserId})`,
    );
    deps.log.info(
      {
        pendingId: action.pendingId,
        slackUser: action.slackUserId,
        user: person.user,
        decision: action.decision,
        ok: result.ok,
        ...(result.ok ? {} : { refusal: result.refusal }),
      },
      'slack review',
    );
    answer(res, 200, '');
    await reviewed(action, result);
  }

  return {
    handle,
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
