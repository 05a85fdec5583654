// `kubegate user add NAME --group G … --out FILE [--token]`: writes a kubeconfig with a
// credential kubegate accepts (identity/users.ts does the work) and says how to use it. Must
// never print the credential itself; it lives in the file only.
// `kubegate user add --oidc --issuer URL --client-id ID [--ca-file F] --out FILE`: writes a
// kubeconfig whose user signs in with the identity provider through `kubegate login`
// (identity/oidc-login-user.ts); nothing is minted, the file holds no secret.
// `kubegate user revoke NAME`: withdraws every bearer token of NAME; a running kubegate stops
// accepting them (and ends the web sessions and live watches they opened) within a second.
import type { Command } from 'commander';
import { addUser, DEFAULT_CERTIFICATE_DAYS } from '../identity/users.js';
import type { AddedUser } from '../identity/users.js';
import { TokenStore } from '../identity/tokens.js';
import { addOidcUser } from '../identity/oidc-login-user.js';
import type { AddedOidcUser } from '../identity/oidc-login-user.js';
import { KubegateError } from '../errors.js';
import { loadConfig } from '../config/load.js';
import { currentInvocationFacts, kubegateInvocation } from './login-invocation.js';
import type { Invocation } from './login-invocation.js';

export const DEFAULT_GATEWAY_URL = 'https://127.0.0.1:8443';

interface AddFlags {
  readonly group: readonly string[];
  readonly out: string;
  readonly token?: boolean;
  readonly server: string;
  readonly dataDir: string;
  readonly validityDays?: number;
  readonly force?: boolean;
  readonly oidc?: boolean;
  readonly issuer?: string;
  readonly clientId?: string;
  readonly caFile?: string;
  readonly scope: readonly string[];
  readonly config?: string;
  readonly onBehalfOf?: string;
}

/** The kubeconfig user entry of an --oidc kubeconfig when no name is given. */
export const DEFAULT_OIDC_USER_ENTRY = 'oidc';

/**
 * Adds `kubegate user add`; `print` receives each output line (tests pass their own), and
 * `invocation` says how kubectl will run kubegate again (tests pass a fixed one).
 */
export function registerUser(
  program: Command,
  print: (line: string) => void = (l) => console.log(l),
  invocation: () => Invocation = () => kubegateInvocation(currentInvocationFacts()),
): void {
  const user = program.command('user').description('manage the people and robots that may use kubegate');
  user
    .command('add')
    .description(
      "write a kubeconfig for a new user, pointing at the gateway and trusting kubegate's CA (--oidc: one that signs in with your identity provider)",
    )
    .argument('[name]', 'user name, as RBAC and policy will see it (with --oidc: the kubeconfig entry only)')
    .option(
      '--group <group>',
      'a group the user belongs to (repeatable)',
      (g: string, all: string[]) => [...all, g],
      [],
    )
    .requiredOption('--out <file>', 'the kubeconfig to write')
    .option('--token', 'authenticate with a bearer token instead of a client certificate')
    .option('--server <url>', "the gateway's URL as the user reaches it", DEFAULT_GATEWAY_URL)
    .option('--data-dir <dir>', 'where kubegate keeps its state (CA, tokens)', '.kubegate')
    .option(
      '--validity-days <days>',
      `how long the client certificate is valid (default ${DEFAULT_CERTIFICATE_DAYS})`,
      (v: string) => Number(v),
    )
    .option('--force', 'replace the output file if it exists')
    .option(
      '--on-behalf-of <person>',
      'with --token, for an AI agent: the person it acts for (shown and audited)',
    )
    .option(
      '--oidc',
      'sign in with the identity provider (kubegate login as a kubectl exec plugin): mint nothing',
    )
    .option('--issuer <url>', "with --oidc: the identity provider's issuer URL")
    .option('--client-id <id>', 'with --oidc: the public OAuth client kubectl signs in with')
    .option('--ca-file <file>', "with --oidc: the CA (PEM) that signed the identity provider's certificate")
    .option(
      '--scope <scope>',
      'with --oidc: a scope kubegate login asks for beside openid offline_access email (repeatable; e.g. groups)',
      (s: string, all: string[]) => [...all, s],
      [],
    )
    .option(
      '--config <file>',
      'with --oidc: take the issuer, client ID, CA file and data folder from kubegate.yaml (identity.oidc: the first issuer, or the one --issuer names); flags win',
    )
    .action(async (name: string | undefined, flags: AddFlags, command: Command) => {
      if (flags.oidc === true) {
        if (flags.onBehalfOf !== undefined)
          throw usage(
            '--on-behalf-of goes with --token; with --oidc, identity.agents.onBehalfOfClaim names the person',
          );
        const dataDirGiven = command.getOptionValueSource('dataDir') !== 'default';
        for (const line of describeOidc(await addOidc(name, flags, dataDirGiven, invocation))) print(line);
        return;
      }
      if (flags.config !== undefined) throw usage('--config goes with --oidc');
      for (const [given, flag] of [
        [flags.issuer, '--issuer'],
        [flags.clientId, '--client-id'],
        [flags.caFile, '--ca-file'],
        [flags.scope.length > 0 ? 'set' : undefined, '--scope'],
      ] as const) {
        if (given !== undefined) throw usage(`${flag} goes with --oidc`);
      }
      if (name === undefined) throw usage("give the new user's name: kubegate user add NAME --out FILE");
      const added = await addUser({
        dataDir: flags.dataDir,
        name,
        groups: flags.group,
        credential: flags.token === true ? 'token' : 'certificate',
        server: flags.server,
        out: flags.out,
        ...(flags.validityDays === undefined ? {} : { validityDays: flags.validityDays }),
        overwrite: flags.force === true,
        ...(flags.onBehalfOf === undefined ? {} : { onBehalfOf: flags.onBehalfOf }),
      });
      for (const line of describeAdded(added)) print(line);
    });
  user
    .command('revoke')
    .description('withdraw every bearer token of a user (web sessions and live watches end with them)')
    .argument('<name>', 'the user whose tokens to withdraw')
    .option('--data-dir <dir>', 'where kubegate keeps its state (CA, tokens)', '.kubegate')
    .action(async (name: string, flags: { readonly dataDir: string }) => {
      const tokens = await TokenStore.open(flags.dataDir);
      const removed = await tokens.revoke(name);
      print(
        removed === 0
          ? `User "${name}" has no bearer token in ${tokens.file}; nothing changed.`
          : `Revoked ${removed} bearer token${removed === 1 ? '' : 's'} of user "${name}"; a running kubegate refuses ${removed === 1 ? 'it' : 'them'} within a second.`,
      );
      // Certificates carry no revocation list here: say so rather than let "revoked" mislead.
      print(
        `A client certificate issued to "${name}" stays valid until it expires; to lock it out now, deny the user in the policy (subjects: {users: [${JSON.stringify(name)}]}).`,
      );
    });
}

async function addOidc(
  name: string | undefined,
  flags: AddFlags,
  dataDirGiven: boolean,
  invocation: () => Invocation,
): Promise<AddedOidcUser> {
  // The provider says who the user is and in which groups; kubegate mints nothing to vouch for it.
  if (flags.group.length > 0)
    throw usage('--group does not go with --oidc: groups come from the identity provider');
  if (flags.token === true)
    throw usage('--token does not go with --oidc: the identity provider issues the tokens');
  if (flags.validityDays !== undefined) {
    throw usage(
      '--validity-days does not go with --oidc: the identity provider sets how long a sign-in lasts',
    );
  }
  const fromConfig = flags.config === undefined ? null : await oidcFromConfig(flags.config, flags);
  const issuer = fromConfig?.issuer ?? flags.issuer;
  const clientId = flags.clientId ?? fromConfig?.clientId;
  const caFile = flags.caFile ?? fromConfig?.caFile;
  if (issuer === undefined || clientId === undefined) {
    throw usage(
      '--oidc needs --issuer URL and --client-id ID (those of identity.oidc in kubegate.yaml), or --config kubegate.yaml',
    );
  }
  return addOidcUser({
    dataDir: dataDirGiven || fromConfig === null ? flags.dataDir : fromConfig.dataDir,
    name: name ?? DEFAULT_OIDC_USER_ENTRY,
    server: flags.server,
    out: flags.out,
    overwrite: flags.force === true,
    issuer,
    clientId,
    ...(caFile === undefined ? {} : { caFile }),
    scopes: flags.scope,
    kubegate: invocation(),
  });
}

/** The issuer kubectl users sign in with, as kubegate.yaml's identity.oidc names it. */
async function oidcFromConfig(
  file: string,
  flags: AddFlags,
): Promise<{ issuer: string; clientId: string; caFile: string | undefined; dataDir: string }> {
  const config = await loadConfig({ file });
  const issuers = config.identity.oidc;
  const known = issuers.map((i) => i.issuerUrl).join(', ');
  if (issuers.length === 0) throw usage(`${file} trusts no identity provider (identity.oidc is empty)`);
  const chosen = flags.issuer === undefined ? issuers[0] : issuers.find((i) => i.issuerUrl === flags.issuer);
  if (chosen === undefined) {
    throw usage(`${file} does not trust the issuer ${flags.issuer} (identity.oidc has ${known})`);
  }
  // A secret makes the client the web UI's confidential one: kubectl must never hold that secret.
  if (chosen.clientSecretFile !== undefined && flags.clientId === undefined) {
    throw usage(
      `the client ${chosen.clientId} of ${chosen.issuerUrl} has a secret (clientSecretFile): kubectl needs a public client; give its ID with --client-id (and list it in audiences)`,
    );
  }
  return {
    issuer: chosen.issuerUrl,
    clientId: chosen.clientId,
    caFile: chosen.caFile,
    dataDir: config.dataDir,
  };
}

function describeOidc(added: AddedOidcUser): string[] {
  return [
    `Wrote ${added.kubeconfig} for people who sign in at ${added.issuer} (client ID ${added.clientId}).`,
    `It reaches kubegate at ${added.server}; kubectl runs: ${added.command.map(shellQuote).join(' ')}`,
    'The first command opens the sign-in page in a browser (or prints its URL); later ones reuse and renew the sign-in, kept in ~/.kube/cache/kubegate (readable by you only).',
    'It holds no secret: everyone who signs in with this identity provider may use a copy.',
    'Use it:',
    `  kubectl --kubeconfig ${shellQuote(added.kubeconfig)} get pods`,
  ];
}

function usage(message: string): KubegateError {
  return new KubegateError('KG_CONFIG_INVALID', message);
}

function describeAdded(added: AddedUser): string[] {
  const groups = added.groups.length === 0 ? 'no groups' : `groups: ${added.groups.join(', ')}`;
  const how =
    added.expiresAt === null
      ? 'a bearer token (kubegate stores only its hash), valid until revoked'
      : `a client certificate from kubegate's CA, valid until ${added.expiresAt.toISOString().slice(0, 10)}`;
  const secret = added.expiresAt === null ? 'the token' : 'a private key';
  return [
    `Wrote ${added.kubeconfig} for user "${added.user}" (${groups}).`,
    `It signs in to kubegate at ${added.server} with ${how}.`,
    `It holds ${secret}: keep it as secret as a password (the file is readable by its owner only).`,
    'Use it:',
    `  kubectl --kubeconfig ${shellQuote(added.kubeconfig)} get pods`,
  ];
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/u.test(s) ? s : `'${s.replace(/'/gu, `'\\''`)}'`;
}
