// `kubegate user add NAME --group G … --out FILE [--token]`: writes a kubeconfig with a
// credential kubegate accepts (identity/users.ts does the work) and says how to use it. Must
// never print the credential itself; it lives in the file only.
// `kubegate user revoke NAME`: withdraws every bearer token of NAME; a running kubegate stops
// accepting them (and ends the web sessions and live watches they opened) within a second.
import type { Command } from 'commander';
import { addUser, DEFAULT_CERTIFICATE_DAYS } from '../identity/users.js';
import type { AddedUser } from '../identity/users.js';
import { TokenStore } from '../identity/tokens.js';

export const DEFAULT_GATEWAY_URL = 'https://127.0.0.1:8443';

interface AddFlags {
  readonly group: readonly string[];
  readonly out: string;
  readonly token?: boolean;
  readonly server: string;
  readonly dataDir: string;
  readonly validityDays?: number;
  readonly force?: boolean;
}

/** Adds `kubegate user add`; `print` receives each output line (tests pass their own). */
export function registerUser(program: Command, print: (line: string) => void = (l) => console.log(l)): void {
  const user = program.command('user').description('manage the people and robots that may use kubegate');
  user
    .command('add')
    .description("write a kubeconfig for a new user, pointing at the gateway and trusting kubegate's CA")
    .argument('<name>', 'user name, as RBAC and policy will see it')
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
    .action(async (name: string, flags: AddFlags) => {
      const added = await addUser({
        dataDir: flags.dataDir,
        name,
        groups: flags.group,
        credential: flags.token === true ? 'token' : 'certificate',
        server: flags.server,
        out: flags.out,
        ...(flags.validityDays === undefined ? {} : { validityDays: flags.validityDays }),
        overwrite: flags.force === true,
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
