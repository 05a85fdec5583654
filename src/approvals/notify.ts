// Notification webhooks: approval events → HTTP POSTs to the configured webhooks, as generic JSON
// or as a Slack incoming-webhook payload ({text, blocks}), each with a link to the request.
//
// Place: a subscriber of the approval service (ApprovalsDeps.notify); bytes leave the process
// here, and only here, for notifications.
// Input: ApprovalEvent. Output: POSTs, retried with exponential backoff; failures are logged.
// Must never: block or fail the request path (the notifier returns at once; a queue per webhook
// delivers in order, in the background); carry the reviewer context (a dry run of a Secret holds
// its data) or request bodies; log a webhook's URL beyond its origin (a Slack webhook's path is
// its credential); let request fields (names, comments) inject Slack markup — they go out as
// plain_text or rich_text, and the fallback text is escaped.
//
// Which events: by default 'created', 'escalated', 'decided' and 'expired' (what reviewers and
// requesters act on). A break-glass approval is always sent, whatever a webhook's event list
// says: DESIGN.md wants it notified.
//
// Who: reviewers and the requester alike. Each payload names the requester as a recipient (generic:
// `recipients.requester`; Slack: a line addressed to them, a mention when config `slack.users`
// gives their Slack id) with how to follow the request, so nobody waits in the dark.
// With Slack interactivity configured (src/slack/), a pending request's Slack message carries
// Approve and Deny buttons; their value is the pending id, nothing else.
import type { ApprovalEvent, PendingRequest, RequestSummary, Review } from './types.js';
import { subjectLabel } from '../identity/agents.js';
import { needsText, requestUrl } from './messages.js';
import { progressOf } from './state-machine.js';

export type WebhookFormat = 'generic' | 'slack';
export type EventType = ApprovalEvent['type'];

export interface WebhookConfig {
  readonly url: string;
  readonly format: WebhookFormat;
  /** Events to send; DEFAULT_EVENTS when absent. Break-glass approvals are sent regardless. */
  readonly events?: readonly EventType[];
}

/** The Slack buttons' action_ids; src/slack/payload.ts acts on these and no others. */
export const SLACK_APPROVE_ACTION = 'kubegate_approve';
export const SLACK_DENY_ACTION = 'kubegate_deny';

export interface SlackMessageOptions {
  /** Approve / Deny buttons on a pending request's message (kubegate serves the interactivity path). */
  readonly interactive?: boolean;
  /** A kubegate user's Slack user id (U…), to mention the requester; null when not known. */
  readonly slackIdOf?: (user: string) => string | null;
}

export interface NotifyLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface NotifierOptions {
  readonly webhooks: readonly WebhookConfig[];
  /** kubegate's public address; links point at the reviewer UI under it. */
  readonly publicUrl?: string | null;
  /** How Slack-format messages address people and whether they carry buttons. */
  readonly slack?: SlackMessageOptions;
  readonly log: NotifyLog;
  readonly fetch?: typeof globalThis.fetch;
  /** Each notification's end: delivered, or given up (refused, out of attempts, shutdown). */
  readonly onDelivery?: (result: 'delivered' | 'failed') => void;
  /** Attempts per notification, the first included (default 5). */
  readonly attempts?: number;
  /** Delay before the first retry, doubled for each next one (default 1 s). */
  readonly backoffMs?: number;
  /** Longest single attempt (default 10 s). */
  readonly timeoutMs?: number;
  /** Notifications waiting per webhook before the oldest is dropped (default 1,000). */
  readonly maxQueue?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
}

export interface Notifier {
  (event: ApprovalEvent): void;
  /** Resolves once every queued notification was delivered or given up. */
  idle(): Promise<void>;
  /** Stops taking events, aborts deliveries in flight and drops the queued ones (each logged). */
  close(): Promise<void>;
}

export const DEFAULT_EVENTS: readonly EventType[] = ['created', 'escalated', 'decided', 'expired'];

const MAX_BACKOFF_MS = 60_000;
const MAX_SLACK_TEXT = 2900;

/** The review that made this event worth a break-glass notice, if any. */
function breakGlassReview(event: ApprovalEvent): Review | null {
  return event.type === 'reviewed' && event.review.breakGlass ? event.review : null;
}

/** True when `event` goes to a webhook that listens for `events`. */
export function wanted(event: ApprovalEvent, events: readonly EventType[]): boolean {
  if (breakGlassReview(event) !== null) return true;
  // The break-glass notice already says it was approved; its 'decided' would repeat it.
  if (event.type === 'decided' && event.pending.reviews.at(-1)?.breakGlass === true) return false;
  return events.includes(event.type);
}

function lastReview(pending: PendingRequest): Review | null {
  return pending.reviews.at(-1) ?? null;
}

/** One line saying what happened, plain text (callers escape it for their format). */
export function headline(event: ApprovalEvent): string {
  const p = event.pending;
  const bg = breakGlassReview(event);
  if (bg !== null) return `BREAK-GLASS: ${bg.reviewer} approved their own request ${p.id}`;
  switch (event.type) {
    case 'created':
      return `Approval requested: ${subjectLabel(p.requester)} wants to run a command that needs approval (${p.id})`;
    case 'escalated':
      return `Escalated: ${p.id} from ${p.requester.user} is still waiting for approval`;
    case 'expired':
      return `Expired: ${p.id} from ${p.requester.user} was not decided in time`;
    case 'decided': {
      if (p.state === 'withdrawn') return `Withdrawn: ${p.requester.user} took back ${p.id}`;
      const review = lastReview(p);
      const by = review === null ? '' : ` by ${review.reviewer}`;
      return p.state === 'approved'
        ? `Approved${by}: ${p.id} from ${p.requester.user}`
        : `Denied${by}: ${p.id} from ${p.requester.user}`;
    }
    case 'reviewed':
      return `${event.review.decision === 'approve' ? 'Approved' : 'Denied'} by ${event.review.reviewer}: ${p.id}`;
    case 'granted':
      return `Used: the approval of ${p.id} let ${p.requester.user}'s command through`;
    case 'context':
      return `Details ready for ${p.id}`;
    case 'updated':
      return p.requesterLeftAt === null
        ? `Waiting again: ${p.requester.user} re-ran the command of ${p.id}`
        : `No longer waiting: ${p.requester.user} stopped waiting for ${p.id}; an approval lets their re-run through once`;
  }
}

function targetText(r: RequestSummary): string {
  const what = r.subresource === '' ? r.resource : `${r.resource}/${r.subresource}`;
  return `${r.verb} ${what}${r.name === '' ? '' : ` ${r.name}`}${r.namespace === '' ? '' : ` in ${r.namespace}`}`;
}

function linkOf(pending: PendingRequest, publicUrl: string | null): string | null {
  return publicUrl === null ? null : requestUrl(publicUrl, pending.id);
}

/** The follow-up command a requester runs to watch their request. */
export function waitCommand(id: string): string {
  return `kubegate requests wait ${id}`;
}

/**
 * What this event means for the requester, plain text (callers escape it), or null when it is
 * nothing for them (their own break-glass, reviewer details). "Waiting" versus "run it again"
 * follows whether a client is still held (mode and requesterLeftAt), as kubectl experiences it.
 */
export function requesterText(event: ApprovalEvent): string | null {
  const p = event.pending;
  const follow = `Follow it with \`${waitCommand(p.id)}\`.`;
  const held = p.mode === 'hold' && p.requesterLeftAt === null;
  if (breakGlassReview(event) !== null) return null;
  switch (event.type) {
    case 'created':
    case 'escalated':
    case 'updated':
      if (p.state !== 'pending') return null;
      return held
        ? `your command is waiting for approval as ${p.id}; it carries on by itself once approved. ${follow}`
        : `your request ${p.id} was recorded, not sent; once it is approved, run the same command again. ${follow}`;
    case 'decided':
      if (p.state === 'approved') {
        return held
          ? `${p.id} was approved; your waiting command carries on.`
          : `${p.id} was approved; run the same command again now, it goes through once.`;
      }
      return p.state === 'denied' ? `${p.id} was denied; your command was not sent.` : null;
    case 'expired':
      return `${p.id} expired before anyone decided; your command was not sent. Run it again to ask anew.`;
    case 'reviewed':
    case 'granted':
    case 'context':
      return null;
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;

/** The people a notification is for: the requester, and who may approve the open stages now. */
function recipients(pending: PendingRequest, at: Date): object {
  const approvers =
    pending.state === 'pending'
      ? [
          ...new Set(
            progressOf(pending, at)
              .filter((r) => !r.done)
              .flatMap((r) => r.approvers.map((a) => `${a.kind}:${a.name}`)),
          ),
        ]
      : [];
  const { user, groups } = pending.requester;
  // kubegate identities carry no separate email; a user name that is one (OIDC usernameClaim
  // email) is given as such so a receiver can address them.
  return { requester: { user, groups, email: EMAIL.test(user) ? user : null }, approvers };
}

/** The generic JSON body: the event, a link, and the request without its reviewer context. */
export function genericPayload(event: ApprovalEvent, publicUrl: string | null, at: Date): object {
  const { context: _context, ...pending } = event.pending;
  const bg = breakGlassReview(event);
  return {
    apiVersion: 'kubegate.dev/v1alpha1',
    kind: 'ApprovalEvent',
    type: event.type,
    at: at.toISOString(),
    id: pending.id,
    state: pending.state,
    url: linkOf(event.pending, publicUrl),
    text: headline(event),
    breakGlass: bg !== null,
    needs: event.pending.state === 'pending' ? needsText(event.pending, at) : null,
    review: event.type === 'reviewed' ? event.review : null,
    recipients: recipients(event.pending, at),
    /** The line for the requester (how to follow their request), or null when none applies. */
    requesterText: requesterText(event),
    pending,
  };
}

/** Slack's mrkdwn escapes: the only characters that start markup or mentions (<!here>, <@U…>). */
function mrkdwnEscape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function cut(s: string, max = MAX_SLACK_TEXT): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

const plain = (text: string) => ({ type: 'plain_text', text: cut(text), emoji: false });

const SLACK_ID = /^[UW][A-Z0-9]{1,40}$/u;

/** The requester's line: a mention when their Slack id is known, else their name (escaped). */
function requesterBlock(
  event: ApprovalEvent,
  link: string | null,
  options: SlackMessageOptions,
): object | null {
  const line = requesterText(event);
  if (line === null) return null;
  const user = event.pending.requester.user;
  const id = options.slackIdOf?.(user) ?? null;
  const who = id !== null && SLACK_ID.test(id) ? `<@${id}>` : `*${mrkdwnEscape(user)}*`;
  const open = link === null ? '' : `  <${link}|Open ${event.pending.id}>`;
  return { type: 'section', text: { type: 'mrkdwn', text: cut(`${who}: ${mrkdwnEscape(line)}${open}`) } };
}

/** Approve / Deny, each carrying the pending id; Slack posts the press to kubegate's endpoint. */
function buttonsBlock(pending: PendingRequest): object {
  return {
    type: 'actions',
    block_id: 'kubegate_review',
    elements: [
      {
        type: 'button',
        action_id: SLACK_APPROVE_ACTION,
        text: plain('Approve'),
        style: 'primary',
        value: pending.id,
      },
      {
        type: 'button',
        action_id: SLACK_DENY_ACTION,
        text: plain('Deny'),
        style: 'danger',
        value: pending.id,
      },
    ],
  };
}

/** A Slack incoming-webhook body: fallback `text` and Block Kit `blocks`, user data never as markup. */
export function slackPayload(
  event: ApprovalEvent,
  publicUrl: string | null,
  at: Date,
  options: SlackMessageOptions = {},
): object {
  const p = event.pending;
  const link = linkOf(p, publicUrl);
  const bg = breakGlassReview(event);
  const title = headline(event);
  const text = `${bg !== null ? ':rotating_light: ' : ''}${mrkdwnEscape(title)}${link === null ? '' : ` <${link}|open>`}`;
  const fields = [
    plain(`Requester: ${subjectLabel(p.requester)} (${p.requester.groups.join(', ') || 'no groups'})`),
    plain(`Request: ${targetText(p.request)}`),
    plain(`Rules: ${p.rules.map((r) => r.name).join(', ') || 'the default policy'}`),
    plain(`State: ${p.state}`),
  ];
  const blocks: object[] = [
    { type: 'section', text: { type: 'mrkdwn', text: cut(`*${mrkdwnEscape(title)}*`) } },
    {
      type: 'rich_text',
      elements: [
        {
          type: 'rich_text_preformatted',
          elements: [{ type: 'text', text: cut(p.request.kubectlEquivalent) }],
        },
      ],
    },
    { type: 'section', fields },
  ];
  if (p.state === 'pending') blocks.push({ type: 'section', text: plain(`Needs: ${needsText(p, at)}`) });
  const review =
    event.type === 'reviewed'
      ? event.review
      : event.type === 'decided' && p.state !== 'withdrawn'
        ? lastReview(p)
        : null;
  if (review !== null && review.comment !== '') {
    blocks.push({
      type: 'section',
      text: plain(`${bg !== null ? 'Reason' : 'Comment'} from ${review.reviewer}: ${review.comment}`),
    });
  }
  blocks.push({
    type: 'section',
    text:
      link === null
        ? plain(`kubegate requests show ${p.id}`)
        : { type: 'mrkdwn', text: `<${link}|Open ${p.id}>  ·  \`kubegate requests show ${p.id}\`` },
  });
  const forRequester = requesterBlock(event, link, options);
  if (forRequester !== null) blocks.push(forRequester);
  if (options.interactive === true && p.state === 'pending') blocks.push(buttonsBlock(p));
  return { text, blocks };
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

interface Queue {
  readonly webhook: WebhookConfig;
  readonly items: object[];
  running: Promise<void> | null;
}

/** The notifier the approval service calls for every event. */
export function createNotifier(options: NotifierOptions): Notifier {
  const doFetch = options.fetch ?? globalThis.fetch;
  const attempts = Math.max(1, options.attempts ?? 5);
  const backoffMs = options.backoffMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxQueue = options.maxQueue ?? 1000;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? (() => new Date());
  const publicUrl = options.publicUrl ?? null;
  const queues: Queue[] = options.webhooks.map((webhook) => ({ webhook, items: [], running: null }));
  let closed = false;
  // Shutdown aborts the POSTs in flight and drops what is queued: it must not wait out a backoff.
  const shutdown = new AbortController();

  async function deliver(webhook: WebhookConfig, payload: object): Promise<void> {
    const origin = originOf(webhook.url);
    const body = JSON.stringify(payload);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let problem: object;
      try {
        const res = await doFetch(webhook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), shutdown.signal]),
          redirect: 'error',
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          options.onDelivery?.('delivered');
          return;
        }
        // Other 4xx answers will not change on a retry (a bad payload, a revoked webhook).
        const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
        problem = { status: res.status };
        if (!retryable) {
          options.log.error(
            { webhook: origin, status: res.status, attempt },
            'notification refused by the webhook',
          );
          options.onDelivery?.('failed');
          return;
        }
      } catch (err) {
        problem = { err: err instanceof Error ? err.message : String(err) };
      }
      if (closed) {
        options.log.error({ webhook: origin, attempt, ...problem }, 'notification abandoned at shutdown');
        options.onDelivery?.('failed');
        return;
      }
      if (attempt === attempts) {
        options.log.error({ webhook: origin, attempts, ...problem }, 'notification failed; giving up');
        options.onDelivery?.('failed');
        return;
      }
      options.log.warn({ webhook: origin, attempt, ...problem }, 'notification failed; retrying');
      await sleep(Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** (attempt - 1)));
    }
  }

  async function drain(queue: Queue): Promise<void> {
    for (let item = queue.items.shift(); item !== undefined; item = queue.items.shift()) {
      await deliver(queue.webhook, item);
      if (closed && queue.items.length > 0) {
        options.log.error(
          { webhook: originOf(queue.webhook.url), dropped: queue.items.length },
          'notifications dropped at shutdown',
        );
        queue.items.length = 0;
      }
    }
    queue.running = null;
  }

  const notifier = ((event: ApprovalEvent): void => {
    if (closed) return;
    const at = now();
    for (const queue of queues) {
      if (!wanted(event, queue.webhook.events ?? DEFAULT_EVENTS)) continue;
      let payload: object;
      try {
        payload =
          queue.webhook.format === 'slack'
            ? slackPayload(event, publicUrl, at, options.slack)
            : genericPayload(event, publicUrl, at);
      } catch (err) {
        options.log.error({ webhook: originOf(queue.webhook.url), err }, 'notification could not be built');
        continue;
      }
      if (queue.items.length >= maxQueue) {
        queue.items.shift();
        options.log.warn(
          { webhook: originOf(queue.webhook.url), maxQueue },
          'notification queue full; dropped the oldest',
        );
      }
      queue.items.push(payload);
      queue.running ??= drain(queue).catch((err: unknown) => {
        queue.running = null;
        options.log.error({ webhook: originOf(queue.webhook.url), err }, 'bug: notification queue failed');
      });
    }
  }) as Notifier;

  notifier.idle = async () => {
    while (queues.some((q) => q.running !== null))
      await Promise.all(queues.map((q) => q.running ?? Promise.resolve()));
  };
  notifier.close = () => {
    closed = true;
    shutdown.abort();
    return notifier.idle();
  };
  return notifier;
}
