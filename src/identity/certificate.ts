// The client-certificate authenticator: a certificate that verified against kubegate's client CA
// names the caller, user = CN and groups = every O, in order (as the API server's x509
// authenticator does; empty O values are dropped). An empty or repeated CN is refused (Kubernetes
// refuses the first and silently takes the last of the second). A CN starting with `system:` is
// allowed, as in Kubernetes: only kubegate's CA can issue one, and the API server's RBAC still
// judges the impersonation. A certificate that did not verify (another CA, expired) is refused.
// It stays valid for a long request until its notAfter.
import type { Authenticator, ClientCredentials } from './authenticator.js';
import { USE_KUBECONFIG, certInvalid } from './identify.js';
import { nameProblem } from './subject-names.js';
import type { Identity } from './types.js';

type Certificate = NonNullable<ClientCredentials['certificate']>;

export function certificateAuthenticator(now: () => number = Date.now): Authenticator {
  return {
    reads: 'certificate',
    authenticate({ credentials }) {
      const certificate = credentials.certificate;
      if (certificate === null) return Promise.resolve(null);
      const identity = identityOf(certificate);
      const notAfter = certificate.notAfter?.getTime() ?? Infinity;
      return Promise.resolve({ identity, stillValid: () => now() < notAfter });
    },
  };
}

function identityOf(certificate: Certificate): Identity {
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

function values(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}
