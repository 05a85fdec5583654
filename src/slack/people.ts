// Who pressed the button: a Slack user id → the kubegate person whose review it is.
//
// Slack's interaction payload names the user by id and handle only (no email), so the mapping is
// configured (config `slack.users`): an entry names the Slack user id, or the email address of
// the person's Slack profile. Email entries need `slack.lookup`: Slack's users.info (with a bot
// token holding users:read.email) says a user id's profile email, through a configurable API base
// URL. The kubegate user and groups come from the entry, never from Slack.
//
// Place: interactivity.ts, after the signature check. Input: a Slack user id. Output: a Person or
// null. Must never: match on the handle or display name (people choose them); log the bot token.

export interface SlackPerson {
  readonly user: string;
  readonly groups: readonly string[];
}

export interface SlackUserEntry extends SlackPerson {
  readonly slackUserId?: string | undefined;
  readonly email?: string | undefined;
}

export interface SlackLookup {
  /** Slack's Web API base, e.g. https://slack.com/api (tests: a local server). */
  readonly apiUrl: string;
  readonly botToken: string;
}

export interface SlackPeopleDeps {
  readonly users: readonly SlackUserEntry[];
  readonly lookup: SlackLookup | null;
  readonly fetch?: typeof globalThis.fetch;
  readonly log: { warn(fields: object, message: string): void };
  readonly now?: () => number;
  /** How long a users.info answer is reused (default 5 minutes; Slack rate-limits the method). */
  readonly cacheMs?: number;
  readonly timeoutMs?: number;
}

export interface SlackPeople {
  /** The kubegate person for a Slack user id; null when none is configured for them. */
  resolve(slackUserId: string): Promise<SlackPerson | null>;
  /** The Slack user id configured for a kubegate user, to mention them in a message; else null. */
  slackIdOf(user: string): string | null;
}

const person = (e: SlackUserEntry): SlackPerson => ({ user: e.user, groups: e.groups });

export function createSlackPeople(deps: SlackPeopleDeps): SlackPeople {
  const byId = new Map<string, SlackUserEntry>();
  const byEmail = new Map<string, SlackUserEntry>();
  const idOfUser = new Map<string, string>();
  for (const entry of deps.users) {
    if (entry.slackUserId !== undefined) {
      byId.set(entry.slackUserId, entry);
      if (!idOfUser.has(entry.user)) idOfUser.set(entry.user, entry.slackUserId);
    }
    if (entry.email !== undefined) byEmail.set(entry.email.toLowerCase(), entry);
  }
  const doFetch = deps.fetch ?? globalThis.fetch;
  const now = deps.now ?? Date.now;
  const cacheMs = deps.cacheMs ?? 5 * 60_000;
  const emails = new Map<string, { email: string | null; until: number }>();

  /** users.info → profile.email; null when Slack does not say (or cannot be asked). */
  async function emailOf(lookup: SlackLookup, slackUserId: string): Promise<string | null> {
    const cached = emails.get(slackUserId);
    if (cached !== undefined && cached.until > now()) return cached.email;
    const url = `${lookup.apiUrl.replace(/\/+$/u, '')}/users.info?user=${encodeURIComponent(slackUserId)}`;
    let email: string | null = null;
    try {
      const res = await doFetch(url, {
        headers: { authorization: `Bearer ${lookup.botToken}` },
        // Short: Slack wants the press answered within 3 seconds.
        signal: AbortSignal.timeout(deps.timeoutMs ?? 2_000),
        redirect: 'error',
      });
      const body = (await res.json()) as {
        ok?: unknown;
        error?: unknown;
        user?: { deleted?: unknown; is_bot?: unknown; profile?: { email?: unknown } };
      };
      if (res.ok && body.ok === true && body.user?.deleted !== true && body.user?.is_bot !== true) {
        const found = body.user?.profile?.email;
        email = typeof found === 'string' && found !== '' ? found.toLowerCase() : null;
      } else {
        deps.log.warn(
          {
            slackUser: slackUserId,
            status: res.status,
            error: typeof body.error === 'string' ? body.error : null,
          },
          'slack users.info gave no email',
        );
      }
    } catch (err) {
      deps.log.warn(
        { slackUser: slackUserId, err: err instanceof Error ? err.message : String(err) },
        'slack users.info failed',
      );
      return null; // not cached: the next press asks again
    }
    emails.set(slackUserId, { email, until: now() + cacheMs });
    return email;
  }

  return {
    async resolve(slackUserId) {
      const direct = byId.get(slackUserId);
      if (direct !== undefined) return person(direct);
      if (deps.lookup === null || byEmail.size === 0) return null;
      const email = await emailOf(deps.lookup, slackUserId);
      const entry = email === null ? undefined : byEmail.get(email);
      return entry === undefined ? null : person(entry);
    },
    slackIdOf: (user) => idOfUser.get(user) ?? null,
  };
}
