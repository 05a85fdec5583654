// `kubegate serve --config FILE`: runs the gateway until SIGINT/SIGTERM; SIGHUP reloads the policy.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { startGateway } from '../main.js';
import { untilSignalled } from './signals.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the gateway in front of a Kubernetes API server')
    .option('-c, --config <file>', 'kubegate configuration file (YAML)')
    .option('--data-dir <dir>', 'override dataDir from the config')
    .action(async (opts: { config?: string; dataDir?: string }) => {
      const config = await loadConfig({
        ...(opts.config === undefined ? {} : { file: opts.config }),
        ...(opts.dataDir === undefined ? {} : { overrides: { dataDir: opts.dataDir } }),
      });
      const gateway = await startGateway(config);
      process.on('SIGHUP', () => {
        gateway.log.info({ signal: 'SIGHUP' }, 'reloading the policy');
        gateway.reloadPolicy().catch((err: unknown) => gateway.log.error({ err }, 'policy reload failed'));
      });
      console.log(`kubegate listening on ${gateway.url}`);
      const signal = await untilSignalled();
      gateway.log.info({ signal }, 'shutting down');
      await gateway.close();
    });
}
