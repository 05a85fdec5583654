// The gateway's list of authenticators (client certificate, then kubegate's own tokens, then
// OIDC ID tokens when issuers are configured), in one place for the composition root and the
// tests. kubegate's own API appends the web session (web/session-authenticator.ts). The order
// matters only among bearer authenticators: kubegate's tokens are a hash lookup, and a token that
// is not a JWT then never reaches the OIDC authenticator's network. Each marks the agents among
// its callers (agents.ts), as identity.agents in the config says.
import { markingAgents, NO_AGENTS, type AgentsConfig } from './agents.js';
import type { Authenticator } from './authenticator.js';
import { certificateAuthenticator } from './certificate.js';
import { createIdentify, GATEWAY_MISSING, type Identify } from './identify.js';
import { tokenAuthenticator, type TokenStore } from './tokens.js';

export function gatewayAuthenticators(
  tokens: Pick<TokenStore, 'lookupDigest'>,
  oidc: Authenticator | null = null,
  agents: AgentsConfig = NO_AGENTS,
): Authenticator[] {
  const list = [certificateAuthenticator(), tokenAuthenticator(tokens), ...(oidc === null ? [] : [oidc])];
  return list.map((authenticator) => markingAgents(authenticator, agents));
}

/** The gateway's identify stage over its authenticators. */
export function gatewayIdentify(
  tokens: Pick<TokenStore, 'lookupDigest'>,
  oidc: Authenticator | null = null,
  agents: AgentsConfig = NO_AGENTS,
): Identify {
  return createIdentify(gatewayAuthenticators(tokens, oidc, agents), { missing: GATEWAY_MISSING });
}
