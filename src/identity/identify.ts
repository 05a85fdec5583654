// Stage 1, identify: the client's TLS certificate and Authorization header → Identity{user,
// groups}, the only source of the Impersonate-* headers forward sends. Pure: the gateway reads
// the socket (tls getPeerCertificate(), socket.authorized) and passes plain data; tokens arrive
// through deps. Must never guess an identity (anything unclear is a 401 and nothing is
// forwarded), never fall back from a bad certificate to a token, and never put any part of a
// token in a message.
//
// Rules, in order (Kubernetes' x509 and bearer-token authenticators, made strict):
//   1. A client certificate that verified against kubegate's client CA: user = CN, groups = every
//      O, in order (as the API server's x509 authenticator does; empty O values are dropped).
//      An empty or repeated CN is refused (Kubernetes refuses the first and silently takes the
//      last of the second). A CN starting with `system:` is allowed, as in Kubernetes: only
//      kubegate's CA can issue one, and the API server's RBAC still judges the impersonation.
//   2. A certificate that did not verify (another CA, expired): refused, even if a token is also
//      present; a client that shows a bad certificate is misconfigured, and saying so helps.
//   3. No certificate: `Authorization: Bearer <token>` (scheme case-insensitive, one space, as
//      RFC 6750), looked up in the token store. Any other Authorization header is refused.
//   4. Neither: refused.
// `system:authenticated` is NOT added to the groups. The API server adds it itself to every
// impersonated user (unless Impersonate-Group names it), so sending it would change nothing,
// and keeping Identity to what the credential says keeps the audit record honest.

import { KubegateError } from '../errors.js';
import { nameProblem } from './subject-names.js';
import type { Identity } from './types.js';

type SubjectValue = string | readonly string[] | undefined;

export interface ClientCredentials {
  /**
   * The verified-or-not client certificate, or null when the client sent none (Node's
   * getPeerCertificate() then returns an empty object). `authorized` is socket.authorized.
   */
  readonly certificate: {
    readonly authorized: boolean;
    /** As getPeerCertificate().subject: a repeated attribute (several O) is an array. */
    readonly subject: Readonly<Record<string, SubjectValue>>;
  } | null;
  /** The Authorization header, as received. */
  readonly authorization: string | undefined;
}

export interface IdentifyDeps {
  readonly tokens: { lookup(token: string): Identity | null };
}

const USE_KUBECONFIG = 'Use the kubeconfig that `kubegate user add` wrote for you.';

const BEARER = /^bearer ([^\s]+)$/iu;

export function identify(credentials: ClientCredentials, deps: IdentifyDeps): Identity {
  const { certificate, authorization } = credentials;
  if (certificate !== null) return fromCertificate(certificate);
  if (authorization !== undefined) return fromBearer(authorization, deps);
  throw new KubegateError(
    'KG_AUTHN_MISSING',
    `kubegate could not authenticate you: no client certificate and no bearer token. ${USE_KUBECONFIG}`,
  );
}

function fromCertificate(certificate: NonNullable<ClientCredentials['certificate']>): Identity {
  if (!certificate.authorized) {
    throw certInvalid(
      "your client certificate was not issued by kubegate's CA, or it has expired. " + USE_KUBECONFIG,
    );
  }
  const cns = values(certificate.subject.CN);
  const [cn] = cns;
  if (cn === undefined || cn === '') {
    throw certInvalid(
      'your client certificate has no common name (CN), which kubegate reads as your user name. Ask for a new one from `kubegate user add`.',
    );
  }
  if (cns.length > 1) {
    throw certInvalid(
      'your client certificate has several common names (CN), so your user name is ambiguous. Ask for a new one from `kubegate user add`.',
    );
  }
  const groups = values(certificate.subject.O).filter((o) => o !== '');
  for (const name of [cn, ...groups]) {
    if (nameProblem(name) !== null) {
      throw certInvalid(
        'your client certificate names a user or group that cannot be passed on unchanged (control characters, surrounding spaces or too long). Ask for a new one from `kubegate user add`.',
      );
    }
  }
  return Object.freeze({ user: cn, groups: Object.freeze(groups), method: 'client-certificate' });
}

function fromBearer(authorization: string, deps: IdentifyDeps): Identity {
  const token = BEARER.exec(authorization)?.[1];
  if (token === undefined) {
    throw new KubegateError(
      'KG_AUTHN_TOKEN_INVALID',
      `kubegate could not authenticate you: the Authorization header is not "Bearer <token>". ${USE_KUBECONFIG}`,
    );
  }
  const identity = deps.tokens.lookup(token);
  if (identity === null) {
    throw new KubegateError(
      'KG_AUTHN_TOKEN_INVALID',
      'kubegate could not authenticate you: your bearer token is not one kubegate issued, or it was revoked. Ask an administrator for a new kubeconfig (`kubegate user add NAME --token`).',
    );
  }
  return identity;
}

function values(value: SubjectValue): readonly string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

function certInvalid(why: string): KubegateError {
  return new KubegateError('KG_AUTHN_CERT_INVALID', `kubegate could not authenticate you: ${why}`);
}
