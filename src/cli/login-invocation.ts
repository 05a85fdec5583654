// How a kubeconfig runs `kubegate login` again later, from wherever kubectl runs (any folder, any
// shell): the command kubectl's exec plugin starts. Input: how this kubegate was started (node's
// path, the script, node's flags, PATH). Output: command + the arguments before `login`.
//
// - Installed (`npm install -g kubegate`; `kubegate` on PATH is this very script): `kubegate`,
//   found on PATH, so the kubeconfig survives a new Node.js or kubegate version.
// - From a checkout (`npm run kubegate`, node dist/src/cli/main.js) or anything else: the absolute
//   path of this Node.js and of this script, so it works without kubegate on PATH; a loader node
//   was started with (`--import tsx` in development and the tests) goes along, resolved to an
//   absolute file (kubectl's working folder is not the checkout). Such a kubeconfig breaks when
//   that Node.js or checkout moves: run `kubegate user add --oidc` again.
// Must never depend on the folder kubectl runs in.

import { realpathSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Invocation {
  readonly command: string;
  /** Arguments before the subcommand (`login …`). */
  readonly args: readonly string[];
}

export interface InvocationFacts {
  /** process.execPath */
  readonly execPath: string;
  /** process.argv[1]: the script node runs. */
  readonly script: string;
  /** process.execArgv */
  readonly execArgv: readonly string[];
  /** process.env.PATH */
  readonly path: string | undefined;
  readonly cwd: string;
  /** The real path of a file, or null when there is none. */
  realpath(path: string): string | null;
  /** A bare module specifier (a package name), as node's --import would resolve it. */
  resolveModule(specifier: string): string;
}

export function currentInvocationFacts(): InvocationFacts {
  return {
    execPath: process.execPath,
    script: process.argv[1] ?? '',
    execArgv: process.execArgv,
    path: process.env.PATH,
    cwd: process.cwd(),
    realpath: (p) => {
      try {
        return realpathSync(p);
      } catch {
        return null;
      }
    },
    resolveModule: (specifier) => import.meta.resolve(specifier),
  };
}

/** Flags that load code into node before the script: the ones a re-run needs. */
const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

export function kubegateInvocation(facts: InvocationFacts): Invocation {
  const script = facts.realpath(resolve(facts.cwd, facts.script)) ?? resolve(facts.cwd, facts.script);
  for (const dir of (facts.path ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    if (facts.realpath(join(dir, 'kubegate')) === script) return { command: 'kubegate', args: [] };
  }
  const loaders: string[] = [];
  for (let i = 0; i < facts.execArgv.length; i++) {
    const arg = facts.execArgv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (!LOADER_FLAGS.has(flag)) continue;
    const value = eq === -1 ? facts.execArgv[++i] : arg.slice(eq + 1);
    if (value === undefined) continue;
    const module = absoluteModule(value, facts);
    // --import and --loader take a URL; --require a path.
    loaders.push(flag, flag === '--require' || flag === '-r' ? asPath(module) : module);
  }
  return { command: facts.execPath, args: [...loaders, script] };
}

function asPath(module: string): string {
  return module.startsWith('file:') ? fileURLToPath(module) : module;
}

function absoluteModule(specifier: string, facts: InvocationFacts): string {
  if (specifier.startsWith('file:') || isAbsolute(specifier)) return specifier;
  if (specifier.startsWith('.')) return pathToFileURL(resolve(facts.cwd, specifier)).href;
  return facts.resolveModule(specifier);
}
