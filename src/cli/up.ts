// `kubegate up`: the quickstart. For now it starts the demo control plane (the test bed) in the
// data directory and prints how to reach it; the gateway joins it in front once it exists.
import type { Command } from 'commander';
import { resolve, join } from 'node:path';
import { startControlPlane, stopControlPlane } from '../../testbed/control-plane.js';
import { untilSignalled } from './signals.js';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description(
      'start a demo Kubernetes control plane (and kubegate in front of it) and print how to use it',
    )
    .option('--data-dir <dir>', 'where kubegate keeps its state', '.kubegate')
    .action(async (opts: { dataDir: string }) => {
      const dir = join(resolve(opts.dataDir), 'testbed');
      console.log(
        'Starting the demo control plane (the first run builds it from source: about 6-10 minutes)…',
      );
      const state = await startControlPlane({ dir, verbose: true });
      console.log(
        `\nKubernetes ${state.kubernetesVersion} is ready at ${state.server} (started in ${state.startedInMs} ms).`,
      );
      console.log(`Try:\n  kubectl --kubeconfig ${state.adminKubeconfig} get nodes`);
      console.log('Users (static tokens), one kubeconfig each:');
      for (const [user, u] of Object.entries(state.users)) {
        console.log(`  ${user.padEnd(9)} ${u.kubeconfig}  groups: ${u.groups.join(', ') || '(none)'}`);
      }
      console.log(`API server audit log: ${state.auditLog}\nPress Ctrl-C to stop.`);
      await untilSignalled();
      console.log('Stopping…');
      await stopControlPlane(dir);
      console.log('Stopped.');
    });
}
