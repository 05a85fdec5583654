// Adding a person who signs in with the organisation's identity provider: a kubeconfig that points
// at the gateway, trusts kubegate's CA, and whose user runs `kubegate login` as an exec credential
// plugin (kubeconfig/write.ts). Place: `kubegate user add --oidc`, outside the request path.
// Input: data directory (for kubegate's CA), gateway URL, issuer, client ID, optional CA file and
// scopes, the command that runs kubegate, output file. Output: the kubeconfig (0600).
// Unlike addUser (users.ts) nothing is minted: no certificate, no kubegate token. The user name
// and groups come from the provider's ID token at each request, so the file holds no secret and
// the same file serves everyone who signs in with that provider.
// Must never overwrite an existing file unless asked, and never write a relative path into the
// kubeconfig (kubectl runs the plugin from any folder).

import { access, lstat, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KubegateError } from '../errors.js';
import { writeKubeconfig } from '../kubeconfig/write.js';
import { ensureGatewayCa } from './gateway-pki.js';
import { gatewayUrl } from './users.js';

export interface AddOidcUserOptions {
  readonly dataDir: string;
  /** The kubeconfig's user entry (a label: the real user name comes from the ID token). */
  readonly name: string;
  readonly server: string;
  readonly out: string;
  readonly overwrite?: boolean;
  readonly issuer: string;
  readonly clientId: string;
  readonly caFile?: string;
  readonly scopes?: readonly string[];
  /** How to run kubegate from anywhere (cli/login-invocation.ts). */
  readonly kubegate: { readonly command: string; readonly args: readonly string[] };
}

export interface AddedOidcUser {
  readonly kubeconfig: string;
  readonly server: string;
  readonly issuer: string;
  readonly clientId: string;
  /** What kubectl runs: command and arguments. */
  readonly command: readonly string[];
}

export async function addOidcUser(opts: AddOidcUserOptions): Promise<AddedOidcUser> {
  const server = gatewayUrl(opts.server);
  checkIssuer(opts.issuer);
  if (opts.clientId.trim() === '') throw invalid('the client ID must not be empty (--client-id)');
  const caFile = opts.caFile === undefined ? undefined : resolve(opts.caFile);
  if (caFile !== undefined) {
    await access(caFile).catch((err: unknown) => {
      throw invalid(`cannot read the identity provider's CA file ${caFile}: ${(err as Error).message}`);
    });
  }
  const out = resolve(opts.out);
  const existing = await lstat(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (existing !== null && opts.overwrite !== true) {
    throw invalid(`${out} already exists; choose another output file, or replace it with --force`);
  }
  const args = [
    ...opts.kubegate.args,
    'login',
    '--issuer',
    opts.issuer,
    '--client-id',
    opts.clientId,
    ...(caFile === undefined ? [] : ['--ca-file', caFile]),
    ...(opts.scopes ?? []).flatMap((s) => ['--scope', s]),
  ];
  const ca = await ensureGatewayCa(opts.dataDir);
  // writeKubeconfig creates the file 0600; an existing file would keep its old mode, so it goes.
  if (existing !== null) await rm(out, { force: true });
  await writeKubeconfig(out, {
    clusterName: 'kubegate',
    server,
    caPem: ca.caPem,
    userName: opts.name,
    credential: {
      exec: {
        command: opts.kubegate.command,
        args,
        installHint:
          'kubegate login signs you in with your identity provider: install kubegate (npm install -g kubegate), or ask for this kubeconfig again (kubegate user add --oidc)',
      },
    },
  });
  return {
    kubeconfig: out,
    server,
    issuer: opts.issuer,
    clientId: opts.clientId,
    command: [opts.kubegate.command, ...args],
  };
}

/** https, or http on loopback only: what kubegate login (and identity.oidc) accept. */
function checkIssuer(issuer: string): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw invalid(`the issuer ${JSON.stringify(issuer)} is not a URL; give https://… (--issuer)`);
  }
  const loopback = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/u.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw invalid(`the issuer ${issuer} must be an https:// URL (--issuer)`);
  }
}

function invalid(message: string): KubegateError {
  return new KubegateError('KG_CONFIG_INVALID', message);
}
