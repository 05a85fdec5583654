// How a kubeconfig runs kubegate again: `kubegate` when the one on PATH is this very script,
// else absolute node + script, with a loader node was started with made absolute.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kubegateInvocation } from './login-invocation.js';
import type { Invocation, InvocationFacts } from './login-invocation.js';

/** A file system where `links` maps a path to its real path (files not listed do not exist). */
function facts(over: Partial<InvocationFacts> & { links?: Record<string, string> }): InvocationFacts {
  const links = over.links ?? {};
  return {
    execPath: '/usr/bin/node',
    script: '/src/kubegate/dist/src/cli/main.js',
    execArgv: [],
    path: '/usr/local/bin:/usr/bin',
    cwd: '/home/ada',
    realpath: (p) => links[p] ?? null,
    resolveModule: (s) => `file:///src/kubegate/node_modules/${s}/dist/loader.mjs`,
    ...over,
  };
}

const rows: { name: string; input: InvocationFacts; want: Invocation }[] = [
  {
    name: 'installed: kubegate on PATH is this script, so the kubeconfig says kubegate',
    input: facts({
      script: '/usr/local/bin/kubegate',
      links: {
        '/usr/local/bin/kubegate': '/usr/local/lib/node_modules/kubegate/dist/src/cli/main.js',
      },
    }),
    want: { command: 'kubegate', args: [] },
  },
  {
    name: 'a checkout (npm run kubegate): absolute node and script',
    input: facts({
      links: { '/src/kubegate/dist/src/cli/main.js': '/src/kubegate/dist/src/cli/main.js' },
    }),
    want: { command: '/usr/bin/node', args: ['/src/kubegate/dist/src/cli/main.js'] },
  },
  {
    name: 'a checkout while another kubegate is installed: the checkout’s own script, not PATH’s',
    input: facts({
      links: {
        '/src/kubegate/dist/src/cli/main.js': '/src/kubegate/dist/src/cli/main.js',
        '/usr/local/bin/kubegate': '/usr/local/lib/node_modules/kubegate/dist/src/cli/main.js',
      },
    }),
    want: { command: '/usr/bin/node', args: ['/src/kubegate/dist/src/cli/main.js'] },
  },
  {
    name: 'a relative script is made absolute against the working folder',
    input: facts({ script: 'dist/src/cli/main.js', cwd: '/src/kubegate' }),
    want: { command: '/usr/bin/node', args: ['/src/kubegate/dist/src/cli/main.js'] },
  },
  {
    name: 'node --import tsx: the loader goes along, resolved to its file',
    input: facts({ script: '/src/kubegate/src/cli/main.ts', execArgv: ['--import', 'tsx'] }),
    want: {
      command: '/usr/bin/node',
      args: [
        '--import',
        'file:///src/kubegate/node_modules/tsx/dist/loader.mjs',
        '/src/kubegate/src/cli/main.ts',
      ],
    },
  },
  {
    name: '--import=./x.mjs is resolved against the working folder; other node flags stay behind',
    input: facts({
      script: '/src/kubegate/src/cli/main.ts',
      cwd: '/src/kubegate',
      execArgv: ['--enable-source-maps', '--import=./hooks/x.mjs', '--inspect'],
    }),
    want: {
      command: '/usr/bin/node',
      args: ['--import', 'file:///src/kubegate/hooks/x.mjs', '/src/kubegate/src/cli/main.ts'],
    },
  },
  {
    name: '--require takes a path, not a URL',
    input: facts({ execArgv: ['-r', 'tsx'] }),
    want: {
      command: '/usr/bin/node',
      args: ['-r', '/src/kubegate/node_modules/tsx/dist/loader.mjs', '/src/kubegate/dist/src/cli/main.js'],
    },
  },
];
for (const row of rows) {
  test(row.name, () => assert.deepEqual(kubegateInvocation(row.input), row.want));
}
