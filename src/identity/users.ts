// Adding a kubegate user: a credential kubegate will accept (a client certificate from kubegate's
// CA with CN=name and O=groups, or a token in the TokenStore) written into a ready kubeconfig
// that points at the gateway and trusts kubegate's CA. Place: `kubegate user add`, outside the
// request path. Input: data directory, name, groups, credential kind, gateway URL, output file.
// Output: the kubeconfig file (0600) and a summary. Must never overwrite an existing file unless
// asked (it may be someone's ~/.kube/config), never leave the written file readable by others,
// and never keep the plaintext token or private key anywhere but that file.
//
// The kubeconfig trusts kubegate's own CA, so it fits a gateway serving the certificate that
// ensureGatewayPki made; a gateway configured with its own tls.certFile from another CA needs
// that CA in the kubeconfig instead. Certificates cannot be revoked before they expire (kubegate
// keeps no revocation list yet): prefer short validity for people who may leave, or tokens.

import { X509Certificate } from 'node:crypto';
import { lstat, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KubegateError } from '../errors.js';
import { writeKubeconfig } from '../kubeconfig/write.js';
import type { KubeconfigCredential } from '../kubeconfig/write.js';
import { issueCertificate } from '../pki/certificates.js';
import { ensureGatewayCa } from './gateway-pki.js';
import { checkSubject } from './subject-names.js';
import { TokenStore } from './tokens.js';

export type CredentialKind = 'certificate' | 'token';

export interface AddUserOptions {
  readonly dataDir: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly credential: CredentialKind;
  /** The gateway's URL as clients reach it: `https://host:port`. */
  readonly server: string;
  /** The kubeconfig to write. */
  readonly out: string;
  /** Client certificates only; default 365. */
  readonly validityDays?: number;
  /** Replace `out` if it exists. */
  readonly overwrite?: boolean;
  /** Tokens only: the person an agent acts for, kept in its token file entry (identity/agents.ts). */
  readonly onBehalfOf?: string;
}

export interface AddedUser {
  /** Absolute path of the kubeconfig written. */
  readonly kubeconfig: string;
  readonly user: string;
  readonly groups: readonly string[];
  readonly credential: CredentialKind;
  readonly server: string;
  /** When the client certificate expires; null for a token (valid until revoked). */
  readonly expiresAt: Date | null;
}

export const DEFAULT_CERTIFICATE_DAYS = 365;

export async function addUser(opts: AddUserOptions): Promise<AddedUser> {
  checkSubject(opts.name, opts.groups);
  const server = gatewayUrl(opts.server);
  if (opts.validityDays !== undefined) {
    if (opts.credential !== 'certificate') {
      throw invalid('validity applies to client certificates only; a token is valid until it is revoked');
    }
    if (!Number.isInteger(opts.validityDays) || opts.validityDays < 1) {
      throw invalid(`validity must be a whole number of days, 1 or more, not ${opts.validityDays}`);
    }
  }
  if (opts.onBehalfOf !== undefined && opts.credential !== 'token') {
    throw invalid('on-behalf-of is kept with a token only (--token); a client certificate cannot carry it');
  }
  const out = resolve(opts.out);
  // Checked before anything is issued, so a refusal leaves no unused credential behind.
  const existing = await lstat(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (existing !== null && opts.overwrite !== true) {
    throw invalid(`${out} already exists; choose another output file, or replace it with --force`);
  }

  const ca = await ensureGatewayCa(opts.dataDir);
  let credential: KubeconfigCredential;
  let expiresAt: Date | null = null;
  if (opts.credential === 'certificate') {
    const leaf = await issueCertificate(
      { certPem: ca.caPem, keyPem: ca.caKeyPem },
      {
        commonName: opts.name,
        organizations: opts.groups,
        usage: 'client',
        validityDays: opts.validityDays ?? DEFAULT_CERTIFICATE_DAYS,
      },
    );
    credential = { clientCertificatePem: leaf.certPem, clientKeyPem: leaf.keyPem };
    expiresAt = new Date(new X509Certificate(leaf.certPem).validTo);
  } else {
    const tokens = await TokenStore.open(opts.dataDir);
    const behalf = opts.onBehalfOf === undefined ? {} : { onBehalfOf: opts.onBehalfOf };
    credential = { token: await tokens.issue(opts.name, opts.groups, behalf) };
  }

  // writeKubeconfig creates the file 0600; an existing file would keep its old mode, so it goes.
  if (existing !== null) await rm(out, { force: true });
  await writeKubeconfig(out, {
    clusterName: 'kubegate',
    server,
    caPem: ca.caPem,
    userName: opts.name,
    credential,
  });
  return {
    kubeconfig: out,
    user: opts.name,
    groups: [...opts.groups],
    credential: opts.credential,
    server,
    expiresAt,
  };
}

/** `https://host[:port]`, as kubectl needs it; anything else is refused. */
export function gatewayUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw invalid(`the gateway URL ${JSON.stringify(server)} is not a URL; give https://HOST:PORT`);
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.search !== '' || url.hash !== '') {
    throw invalid(
      `the gateway URL ${JSON.stringify(server)} must be https://HOST:PORT (kubegate serves only TLS)`,
    );
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    throw invalid(`the gateway URL ${JSON.stringify(server)} must not have a path; give https://HOST:PORT`);
  }
  return url.origin;
}

function invalid(message: string): KubegateError {
  return new KubegateError('KG_CONFIG_INVALID', message);
}
