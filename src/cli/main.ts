#!/usr/bin/env node
// The kubegate command line: thin commands over the modules; each command lives in its own file.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { registerUp } from './up.js';
import { registerServe } from './serve.js';
import { registerUser } from './user.js';
import { registerPolicy } from './policy.js';
import { registerAudit } from './audit.js';
import { registerRequests } from './requests.js';
import { registerReason } from './reason.js';
import { registerLogin } from './login.js';
import { registerStore } from './store.js';

const pkg = JSON.parse(readFileSync(join(packageRoot(import.meta.dirname), 'package.json'), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('kubegate')
  .description(
    'A gateway in front of the Kubernetes API server: query-level policy, per-request approval, tamper-evident audit.',
  )
  .version(pkg.version, '-v, --version')
  .showHelpAfterError();

registerUp(program);
registerServe(program);
registerUser(program);
registerPolicy(program);
registerAudit(program);
registerRequests(program);
registerReason(program);
registerLogin(program);
registerStore(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`kubegate: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
