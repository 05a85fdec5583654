// Test bed command line: `build` (binaries only), `start [--dir D]` (a new cluster, also in a used
// D; foreground until Ctrl-C or SIGTERM, then stops everything), `stop --dir D` (by the PIDs in
// D/state.json).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries } from '../src/demo/binaries.js';
import { startControlPlane, stopControlPlane } from '../src/demo/control-plane.js';
import { untilSignalled } from '../src/cli/signals.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const command = process.argv[2];
  switch (command) {
    case 'build': {
      const bins = await ensureBinaries();
      console.log(`test bed binaries (Kubernetes ${bins.kubernetesVersion}) in ${bins.dir}`);
      return;
    }
    case 'start': {
      const dir = flag('--dir') ?? (await mkdtemp(join(tmpdir(), 'kubegate-testbed-')));
      const state = await startControlPlane({ dir, verbose: true });
      console.log(
        `Kubernetes ${state.kubernetesVersion} test bed ready in ${state.startedInMs} ms at ${state.server}`,
      );
      console.log(`  admin:      kubectl --kubeconfig ${state.adminKubeconfig} get nodes`);
      for (const [user, u] of Object.entries(state.users)) {
        console.log(`  ${user.padEnd(10)}  ${u.kubeconfig}  (groups: ${u.groups.join(', ') || 'none'})`);
      }
      console.log(`  audit log:  ${state.auditLog}`);
      console.log('Press Ctrl-C to stop.');
      await untilSignalled();
      await stopControlPlane(dir);
      console.log('test bed stopped');
      return;
    }
    case 'stop': {
      const dir = flag('--dir');
      if (!dir) throw new Error('usage: testbed stop --dir DIR');
      await stopControlPlane(dir);
      return;
    }
    default:
      console.error('usage: tsx testbed/cli.ts build | start [--dir DIR] | stop --dir DIR');
      process.exitCode = 2;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
