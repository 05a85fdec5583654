// The body of a Slack interaction (api.slack.com/reference/interaction-payloads/block-actions):
// `application/x-www-form-urlencoded` with one field, `payload`, a JSON `block_actions` object
// naming the Slack user, the button pressed (action_id and value) and a response_url.
//
// Place: after the signature check (signature.ts) in interactivity.ts. Input: the raw body bytes
// and Content-Type. Output: the one action kubegate understands, or why the body is not one.
// Must never: act on a button kubegate did not make (only notify.ts's Approve and Deny action_ids, with a
// value shaped like a pending id); trust a field it has not checked the type of.
import {
  SLACK_APPROVE_ACTION as APPROVE_ACTION,
  SLACK_DENY_ACTION as DENY_ACTION,
} from '../approvals/notify.js';

/** A pending request's id, as approvals/service.ts makes them (`kg-` + base32). */
const PENDING_ID = /^kg-[a-z0-9]{1,40}$/u;
const SLACK_ID = /^[A-Z0-9]{2,40}$/u;

export interface SlackAction {
  readonly decision: 'approve' | 'deny';
  readonly pendingId: string;
  /** Slack's user id (U…/W…), the only stable name of the person who pressed the button. */
  readonly slackUserId: string;
  /** The Slack handle, for logs and messages only (people can change it). */
  readonly slackUserName: string;
  /** The presser's home workspace (user.team_id; team.id when absent): differs in shared channels. */
  readonly teamId: string | null;
  /** Where the message is updated (replace_original) or an ephemeral reply is sent. */
  readonly responseUrl: string | null;
}

export type ParsedAction =
  { readonly ok: true; readonly action: SlackAction } | { readonly ok: false; readonly problem: string };

const object = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The block_actions payload in `body`, reduced to what kubegate acts on. */
export function parseSlackAction(body: Buffer, contentType: string | undefined): ParsedAction {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    return { ok: false, problem: 'expected an application/x-www-form-urlencoded body' };
  }
  const raw = new URLSearchParams(body.toString('utf8')).get('payload');
  if (raw === null) return { ok: false, problem: 'no payload field' };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, problem: 'the payload is not JSON' };
  }
  const payload = object(value);
  if (payload === null) return { ok: false, problem: 'the payload is not an object' };
  if (payload['type'] !== 'block_actions') return { ok: false, problem: 'not a block_actions payload' };
  const user = object(payload['user']);
  const slackUserId = text(user?.['id']);
  if (slackUserId === null || !SLACK_ID.test(slackUserId)) return { ok: false, problem: 'no user id' };
  const actions = payload['actions'];
  const first = Array.isArray(actions) ? object(actions[0]) : null;
  const actionId = text(first?.['action_id']);
  if (actionId !== APPROVE_ACTION && actionId !== DENY_ACTION) {
    return { ok: false, problem: 'not a kubegate button' };
  }
  const pendingId = text(first?.['value']);
  if (pendingId === null || !PENDING_ID.test(pendingId))
    return { ok: false, problem: 'no pending request id' };
  const responseUrl = text(payload['response_url']);
  return {
    ok: true,
    action: {
      decision: actionId === APPROVE_ACTION ? 'approve' : 'deny',
      pendingId,
      slackUserId,
      slackUserName: text(user?.['username']) ?? text(user?.['name']) ?? '',
      teamId: text(user?.['team_id']) ?? text(object(payload['team'])?.['id']),
      responseUrl: responseUrl !== null && /^https?:\/\//u.test(responseUrl) ? responseUrl : null,
    },
  };
}
