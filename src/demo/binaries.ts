// Locates the test bed's binaries, building them with build.sh on first use (cached outside the
// repository, so a fresh clone on the same machine reuses them).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

const here = join(packageRoot(), 'testbed');
const buildScript = join(here, 'build.sh');

export interface Binaries {
  readonly dir: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kwok: string;
  readonly kwokStagesDir: string;
  readonly kubernetesVersion: string;
}

export function cacheDir(): string {
  return execFileSync('bash', [buildScript, '--print-dir'], { encoding: 'utf8' }).trim();
}

function versions(): Record<string, string> {
  const out = execFileSync('bash', ['-c', `source "${join(here, 'versions.env')}"; echo "$K8S_VERSION"`], {
    encoding: 'utf8',
  });
  return { K8S_VERSION: out.trim() };
}

function describe(dir: string): Binaries {
  const bin = (name: string): string => join(dir, 'bin', name);
  return {
    dir,
    etcd: bin('etcd'),
    kubeApiserver: bin('kube-apiserver'),
    kubeControllerManager: bin('kube-controller-manager'),
    kubeScheduler: bin('kube-scheduler'),
    kwok: bin('kwok'),
    kwokStagesDir: join(dir, 'kwok-stages'),
    kubernetesVersion: versions().K8S_VERSION ?? 'unknown',
  };
}

/** The binaries, built first if the cache lacks them (progress goes to stderr). */
export async function ensureBinaries(): Promise<Binaries> {
  const dir = cacheDir();
  if (!existsSync(join(dir, '.complete'))) {
    await new Promise<void>((resolve, reject) => {
      // Only the control plane: the OpenID provider build.sh also makes is for the tests.
      const child = spawn('bash', [buildScript, 'control-plane'], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`testbed/build.sh failed with exit code ${code}`)),
      );
    });
  }
  return describe(dir);
}
