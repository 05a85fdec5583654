// Stage 1, identify: the client's credentials → who the caller is, through a list of
// authenticators (authenticator.ts). The gateway runs [client certificate, kubegate token, OIDC ID
// token]; kubegate's own API adds the web session. Pure but for the
// authenticators' deps: the gateway reads the socket (tls getPeerCertificate(),
// socket.authorized) and the headers, and passes plain data. Must never guess an identity
// (anything unclear is a 401 and nothing is forwarded), never fall back from a bad certificate to
// a token, and never put any part of a token in a message.
//
// Rules, in order (Kubernetes' x509 and bearer-token authenticators, made strict):
//   1. A client certificate decides alone (certificate.ts): one that verified against kubegate's
//      client CA names the caller; one that did not is refused, even if a token is also present
//      — a client that shows a bad certificate is misconfigured, and saying so helps.
//   2. No certificate: `Authorization: Bearer <token>` (scheme case-insensitive, one space, as
//      RFC 6750), offered to each bearer authenticator in turn; the first that knows it wins.
//      Any other Authorization header, or a token none knows, is refused.
//   3. Neither: a web session, where the list has a session authenticator (kubegate's own API
//      only: a cookie never authenticates the Kubernetes API).
//   4. Nothing: refused.
// `system:authenticated` is NOT added to the groups. The API server adds it itself to every
// impersonated user (unless Impersonate-Group names it), so sending it would change nothing,
// and keeping Identity to what the credential says keeps the audit record honest.

import { KubegateError } from '../errors.js';
import type { Authentication, Authenticator, ClientCredentials, CredentialKind } from './authenticator.js';

export type { Authentication, Authenticator, ClientCredentials } from './authenticator.js';

export const USE_KUBECONFIG = 'Use the kubeconfig that `kubegate user add` wrote for you.';

const BEARER = /^bearer ([^\s]+)$/iu;

export interface IdentifyOptions {
  /** What a caller who presented nothing is told (the gateway and the web UI say different things). */
  readonly missing: string;
}

export type Identify = (credentials: ClientCredentials) => Promise<Authentication>;

/** The identify stage over a list of authenticators, tried in the order of the rules above. */
export function createIdentify(authenticators: readonly Authenticator[], options: IdentifyOptions): Identify {
  const hasSession = authenticators.some((a) => a.reads === 'session');
  return async function identify(credentials: ClientCredentials): Promise<Authentication> {
    let kind: CredentialKind | null = null;
    let bearerToken = '';
    if (credentials.certificate !== null) kind = 'certificate';
    else if (credentials.authorization !== undefined) {
      const token = BEARER.exec(credentials.authorization)?.[1];
      if (token === undefined) {
        throw new KubegateError(
          'KG_AUTHN_TOKEN_INVALID',
          `kubegate could not authenticate you: the Authorization header is not "Bearer <token>". ${USE_KUBECONFIG}`,
        );
      }
      kind = 'bearer';
      bearerToken = token;
    } else if (hasSession) kind = 'session';
    if (kind !== null) {
      for (const authenticator of authenticators) {
        if (authenticator.reads !== kind) continue;
        const found = await authenticator.authenticate({ credentials, bearerToken });
        if (found !== null) return found;
      }
      if (kind === 'bearer') {
        throw new KubegateError(
          'KG_AUTHN_TOKEN_INVALID',
          'kubegate could not authenticate you: your bearer token is not one kubegate issued, or it was revoked. Ask an administrator for a new kubeconfig (`kubegate user add NAME --token`).',
        );
      }
      if (kind === 'certificate') throw certInvalid('kubegate does not accept client certificates here.');
    }
    throw new KubegateError('KG_AUTHN_MISSING', `kubegate could not authenticate you: ${options.missing}`);
  };
}

/** The gateway's message when a client presents nothing. */
export const GATEWAY_MISSING = `no client certificate and no bearer token. ${USE_KUBECONFIG}`;

export function certInvalid(why: string): KubegateError {
  return new KubegateError('KG_AUTHN_CERT_INVALID', `kubegate could not authenticate you: ${why}`);
}
