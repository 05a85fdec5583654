// AI agents as subjects: identities the config marks as agents (identity.agents: users, groups),
// with the person an agent acts for when its credential names one (a token file entry's
// onBehalfOf, or an OIDC claim: identity.agents.onBehalfOfClaim). Place: wraps each authenticator
// of the identify stage (authenticators.ts), so every way in marks agents the same way.
// Input: an Identity as its credential gave it. Output: the same Identity, with `agent: true`
// when the config names its user or one of its groups, and `onBehalfOf` kept only then. Must
// never change the user or groups (they are what is impersonated upstream and what rules match:
// `subjects: { groups: [agents] }`), and never let `onBehalfOf` decide anything: it is what the
// credential says, shown to reviewers and kept in the audit trail, not a second identity.
import type { Authenticator } from './authenticator.js';
import type { Identity } from './types.js';

/** config's identity.agents (defaults resolved). */
export interface AgentsConfig {
  readonly users: readonly string[];
  readonly groups: readonly string[];
  /** The OIDC claim naming the person an agent acts for; absent → none is read. */
  readonly onBehalfOfClaim?: string | undefined;
}

/** The agent marker of a subject, as approvals and the audit trail keep it beside user and groups. */
export interface AgentFields {
  readonly agent?: true;
  readonly onBehalfOf?: string;
}

export const NO_AGENTS: AgentsConfig = { users: [], groups: [] };

/** Whether the config marks `identity` as an agent: its user, or any of its groups, is listed. */
export function isAgent(identity: Pick<Identity, 'user' | 'groups'>, agents: AgentsConfig): boolean {
  return agents.users.includes(identity.user) || identity.groups.some((g) => agents.groups.includes(g));
}

/** `identity` marked (or not) as an agent; `onBehalfOf` survives only on an agent. */
export function markAgent(identity: Identity, agents: AgentsConfig): Identity {
  const { agent: _agent, onBehalfOf, ...rest } = identity;
  if (!isAgent(identity, agents)) {
    return _agent === undefined && onBehalfOf === undefined ? identity : Object.freeze(rest);
  }
  return Object.freeze({ ...rest, agent: true, ...(onBehalfOf === undefined ? {} : { onBehalfOf }) });
}

/** An authenticator whose identities are marked as agents (or not) by `agents`. */
export function markingAgents(authenticator: Authenticator, agents: AgentsConfig): Authenticator {
  return {
    reads: authenticator.reads,
    async authenticate(presented) {
      const found = await authenticator.authenticate(presented);
      if (found === null) return null;
      return { ...found, identity: markAgent(found.identity, agents) };
    },
  };
}

/** The agent fields of a subject, to spread into a pending request's requester or an audit event. */
export function agentFields(subject: AgentFields | null | undefined): AgentFields {
  if (subject?.agent !== true) return {};
  return { agent: true, ...(subject.onBehalfOf === undefined ? {} : { onBehalfOf: subject.onBehalfOf }) };
}

/** How a subject is shown to people (CLI, web UI, notifications): "agent X (for alice)" or "X". */
export function subjectLabel(subject: { readonly user: string } & AgentFields): string {
  if (subject.agent !== true) return subject.user;
  const behalf = subject.onBehalfOf === undefined ? '' : ` (for ${subject.onBehalfOf})`;
  return `agent ${subject.user}${behalf}`;
}
