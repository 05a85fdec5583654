// `npm test`: starts one test bed (a real control plane) for the whole run, runs every test file
// with node's test runner, stops the test bed, and ends with "N passed, N failed".
// Unit tests sit beside their modules (src/**/*.test.ts, ui/src/**/*.test.ts); end-to-end tests in
// test/e2e. The reviewer UI's assets are built first: the gateway under test serves them.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { startControlPlane, stopControlPlane } from '../src/demo/control-plane.js';

const root = resolve(import.meta.dirname, '..');

async function findTests(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== 'fixtures') {
      out.push(...(await findTests(path)));
    } else if (entry.isFile() && entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

async function main(): Promise<number> {
  // Optional filter: `npm test -- request` runs only files whose path contains "request".
  const filters = process.argv.slice(2);
  const files = [
    ...(await findTests(join(root, 'src'))),
    ...(await findTests(join(root, 'ui'))),
    ...(await findTests(join(root, 'test'))),
  ]
    .map((f) => relative(root, f))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  if (files.length === 0) {
    console.error('no test files matched');
    return 1;
  }
  const needsTestbed = files.some((f) => f.startsWith('test/'));
  const dir = needsTestbed ? await mkdtemp(join(tmpdir(), 'kubegate-testbed-')) : null;
  const tap = join(await mkdtemp(join(tmpdir(), 'kubegate-tap-')), 'results.tap');
  let code = 1;
  try {
    if (needsTestbed) await buildUi();
    if (dir) {
      const state = await startControlPlane({ dir, verbose: true });
      console.log(
        `test bed: Kubernetes ${state.kubernetesVersion} at ${state.server}, ready in ${state.startedInMs} ms`,
      );
    }
    code = await new Promise<number>((resolvePromise, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--test',
          '--test-reporter=spec',
          '--test-reporter-destination=stdout',
          '--test-reporter=tap',
          `--test-reporter-destination=${tap}`,
          ...files,
        ],
        {
          cwd: root,
          stdio: 'inherit',
          env: { ...process.env, ...(dir ? { KUBEGATE_TESTBED_DIR: dir } : {}) },
        },
      );
      child.on('error', reject);
      child.on('exit', (c, signal) => resolvePromise(c ?? (signal ? 1 : 0)));
    });
  } finally {
    if (dir) {
      await stopControlPlane(dir);
      if (code === 0) await rm(dir, { recursive: true, force: true });
      else console.log(`test bed state and logs kept in ${dir}`);
    }
  }
  const summary = await readFile(tap, 'utf8').catch(() => '');
  const count = (key: string): number => lastCount(summary, key);
  console.log(`${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
  return code;
}

/** `npm run build:ui`: the e2e tests' gateways serve dist/ui (esbuild; about a second). */
function buildUi(): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'ui/build.ts')], {
      cwd: root,
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (c) => (c === 0 ? resolvePromise() : reject(new Error(`ui build failed (${c})`))));
  });
}

function lastCount(tap: string, key: string): number {
  const matches = [...tap.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))];
  const last = matches.at(-1);
  return last ? Number(last[1]) : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
