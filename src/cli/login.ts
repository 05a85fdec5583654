// `kubegate login --issuer URL --client-id ID …`: the exec credential plugin that a kubeconfig
// from `kubegate user add --oidc` runs (client.authentication.k8s.io/v1). It prints one
// ExecCredential on stdout holding the user's OpenID Connect ID token: from its cache when still
// valid, refreshed silently when it expires within a minute, else after a sign-in — in the
// browser (authorization code + PKCE on a loopback redirect) or, with --device, by device code.
// kubectl passes stderr through: the sign-in URL goes there on one line ("kubegate: to sign in,
// open URL"), and so does any error, as one line, with exit code 1.
// Must never print a token anywhere but the ExecCredential on stdout, nor keep one anywhere but
// the 0600 cache file (login-cache-file.ts).

import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import type { Command } from 'commander';
import { KubegateError } from '../errors.js';
import { canSignIn, execCredential, normaliseScopes, parseExecInfo } from '../identity/oidc-login-cache.js';
import type { LoginTarget } from '../identity/oidc-login-cache.js';
import { defaultCacheDir, openLoginCache } from './login-cache-file.js';
import { obtainCredential } from './login-flow.js';
import { connectIdp } from './login-oidc.js';
import type { Idp, SignInUi } from './login-oidc.js';

/**
 * Always asked for: openid (an ID token), offline_access (a refresh token, for silent renewal),
 * email (the usual username claim). --scope adds to them.
 */
export const DEFAULT_LOGIN_SCOPES = ['openid', 'offline_access', 'email'] as const;
/** How long a person has to finish signing in before kubegate gives up (and kubectl with it). */
export const DEFAULT_SIGN_IN_TIMEOUT_S = 300;

export interface LoginFlags {
  readonly issuer: string;
  readonly clientId: string;
  readonly caFile?: string;
  readonly scope: readonly string[];
  readonly listenPort: number;
  readonly device?: boolean;
  /** commander's --no-browser: false when given. */
  readonly browser: boolean;
  readonly timeout: number;
}

/** Adds `kubegate login`. */
export function registerLogin(program: Command): void {
  program
    .command('login')
    .description(
      'sign in with your identity provider and print a credential for kubectl (an exec credential plugin; see kubegate user add --oidc)',
    )
    .requiredOption(
      '--issuer <url>',
      "the identity provider's issuer URL (https://…, exactly as in its tokens)",
    )
    .requiredOption('--client-id <id>', 'the public OAuth client kubectl signs in with')
    .option(
      '--ca-file <file>',
      "the CA (PEM) that signed the identity provider's certificate, instead of the system's",
    )
    .option(
      '--scope <scope>',
      `a scope to ask for beside ${DEFAULT_LOGIN_SCOPES.join(' ')} (repeatable; e.g. groups, where the provider puts groups in the ID token only when asked)`,
      (s: string, all: string[]) => [...all, s],
      [],
    )
    .option(
      '--listen-port <port>',
      'the loopback port the browser comes back to, http://127.0.0.1:PORT/callback (default: any free port)',
      (v: string) => port(v),
      0,
    )
    .option('--device', 'sign in with a device code instead of a browser on this machine')
    .option('--no-browser', 'never open a browser: print the sign-in URL only')
    .option(
      '--timeout <seconds>',
      `how long to wait for the sign-in (default ${DEFAULT_SIGN_IN_TIMEOUT_S})`,
      (v: string) => seconds(v),
      DEFAULT_SIGN_IN_TIMEOUT_S,
    )
    .action(async (flags: LoginFlags) => {
      process.stdout.write(`${await login(flags)}\n`);
    });
}

/** The ExecCredential text for kubectl. */
export async function login(flags: LoginFlags): Promise<string> {
  const target: LoginTarget = {
    issuer: flags.issuer,
    clientId: flags.clientId,
    scopes: normaliseScopes([...DEFAULT_LOGIN_SCOPES, ...flags.scope]),
  };
  const info = parseExecInfo(process.env.KUBERNETES_EXEC_INFO);
  const warn = (line: string): void => void process.stderr.write(`${line}\n`);
  const cache = await openLoginCache({
    dir: defaultCacheDir(homedir()),
    target,
    uid: process.getuid?.() ?? -1,
    warn,
  });
  const timeoutMs = flags.timeout * 1000;
  let idp: Idp | null = null;
  const connected = async (): Promise<Idp> =>
    (idp ??= await connectIdp({
      issuer: target.issuer,
      clientId: target.clientId,
      scopes: target.scopes,
      ...(flags.caFile === undefined ? {} : { caFile: flags.caFile }),
    }));
  try {
    const credential = await obtainCredential(target, {
      now: () => Date.now(),
      readCache: () => cache.read(),
      writeCache: (signIn) => cache.write(signIn),
      // Long enough for another kubectl's sign-in to finish first.
      lock: () =>
        cache.lock(timeoutMs + 30_000, (pid) =>
          warn(`kubegate: waiting for another kubegate login (PID ${pid}) to finish signing in`),
        ),
      refresh: async (refreshToken) => (await connected()).refresh(refreshToken),
      signIn: async () => {
        const provider = await connected();
        await provider.checkClient();
        const ui = signInUi(flags.browser && flags.device !== true, warn);
        const signal = AbortSignal.timeout(timeoutMs);
        return flags.device === true
          ? provider.signInWithDevice(ui, signal)
          : provider.signInWithBrowser(ui, flags.listenPort, signal);
      },
      canSignIn: canSignIn({
        noBrowser: !flags.browser,
        interactive: info.interactive,
        stderrIsTerminal: process.stderr.isTTY === true,
      }),
    });
    return execCredential(info.apiVersion, credential.idToken, credential.expiresAt);
  } finally {
    await (idp as Idp | null)?.close();
  }
}

function signInUi(openBrowser: boolean, print: (line: string) => void): SignInUi {
  return {
    announce(url, userCode) {
      // Always printed: kubectl shows it, so a person without a browser here can copy it.
      print(
        `kubegate: to sign in, open ${url}${userCode === undefined ? '' : ` and enter the code ${userCode}`}`,
      );
      if (openBrowser) startBrowser(url);
    },
  };
}

/**
 * xdg-open (or macOS's open) where a desktop is there to show it; a failure is ignored: the URL
 * is printed anyway. Without DISPLAY or WAYLAND_DISPLAY, xdg-open would start a text browser on
 * kubectl's terminal, so it is not tried.
 */
function startBrowser(url: string): void {
  let command: string;
  if (process.platform === 'darwin') command = 'open';
  else if (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) command = 'xdg-open';
  else return;
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `--listen-port must be a port number from 0 to 65535, not ${v}`,
    );
  }
  return n;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `--timeout must be a whole number of seconds, 1 or more, not ${v}`,
    );
  }
  return n;
}
