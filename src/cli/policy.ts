// `kubegate policy check|eval|test`: commander wiring over src/policy/commands.ts. Input: the
// command line. Output: the command's text on stdout (errors and mismatches on stderr) and the
// exit code: check and test exit 1 when a file is invalid or a fixture does not match; eval
// prints one JSON object and exits 0 whatever the decision. Must never evaluate anything itself:
// every decision comes from the functions the gateway and the fixtures use.
import type { Command } from 'commander';
import { policyCheck, policyEval, policyTest } from '../policy/commands.js';

const collect = (value: string, previous: readonly string[]): string[] => [...previous, value];

export function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .description('validate a policy, show its decision for one request, or run policy fixtures');

  policy
    .command('check')
    .description('validate policy files; exit 1 with every error (file:line:column: field: problem)')
    .argument('<file...>', 'policy files (YAML)')
    .action(async (files: string[]) => {
      const result = await policyCheck(files);
      if (result.ok) console.log(result.output);
      else console.error(result.output);
      process.exitCode = result.ok ? 0 : 1;
    });

  policy
    .command('eval')
    .description(
      'print the decision for one request as JSON (decision "reject": kubegate refuses to parse it)',
    )
    .requiredOption('--policy <file>', 'policy file (YAML)')
    .requiredOption('--method <method>', 'HTTP method: GET, POST, PUT, PATCH, DELETE, …')
    .requiredOption(
      '--path <target>',
      "path and query as on the request line: '/api/v1/namespaces/d/pods?watch=1'",
    )
    .option('--user <name>', 'the caller', 'system:anonymous')
    .option('--group <name>', "one of the caller's groups (repeatable)", collect, [] as string[])
    .option(
      '--object-labels <labels>',
      "labels of the live target object, k=v,k2=v2 ('unavailable': the lookup failed)",
    )
    .option('--body <file>', 'a file holding the request body')
    .option('--header <line>', "a request header, 'Name: value' (repeatable)", collect, [] as string[])
    .action(
      async (opts: {
        policy: string;
        method: string;
        path: string;
        user: string;
        group: string[];
        objectLabels?: string;
        body?: string;
        header: string[];
      }) => {
        const output = await policyEval({
          policy: opts.policy,
          method: opts.method,
          path: opts.path,
          user: opts.user,
          groups: opts.group,
          headers: opts.header,
          ...(opts.objectLabels === undefined ? {} : { objectLabels: opts.objectLabels }),
          ...(opts.body === undefined ? {} : { body: opts.body }),
        });
        console.log(output);
      },
    );

  policy
    .command('test')
    .description('run policy fixture files (request + expected decision); exit 1 on any mismatch')
    .argument('<dir>', 'folder of fixture files (*.yaml, *.yml)')
    .action(async (dir: string) => {
      // The report (every case, with a diff under each mismatch) goes to stdout either way.
      const result = await policyTest(dir);
      console.log(result.output);
      process.exitCode = result.ok ? 0 : 1;
    });
}
