// The gateway's list of authenticators (client certificate, then kubegate's own tokens), in one
// place for the composition root and the tests. kubegate's own API appends the web session
// (web/session-authenticator.ts); OIDC will join as one more bearer authenticator here.
import type { Authenticator } from './authenticator.js';
import { certificateAuthenticator } from './certificate.js';
import { createIdentify, GATEWAY_MISSING, type Identify } from './identify.js';
import { tokenAuthenticator, type TokenStore } from './tokens.js';

export function gatewayAuthenticators(tokens: Pick<TokenStore, 'lookupDigest'>): Authenticator[] {
  return [certificateAuthenticator(), tokenAuthenticator(tokens)];
}

/** The gateway's identify stage over its authenticators. */
export function gatewayIdentify(tokens: Pick<TokenStore, 'lookupDigest'>): Identify {
  return createIdentify(gatewayAuthenticators(tokens), { missing: GATEWAY_MISSING });
}
