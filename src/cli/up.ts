// `kubegate up`: the quickstart. Creates the data directory (CA, example policy, users' kubeconfigs)
// and starts the gateway. Demo mode (the default, or --demo) also starts the test bed control plane
// with sample workloads; with --context it fronts that kubeconfig context instead. Runs until
// Ctrl-C, then stops everything it started. Run again in the same folder, it starts a new demo
// cluster (the test bed starts anew in a used directory) and seeds it again; kubegate's own state
// (CA, policy, audit, requests) is kept, and the users' kubeconfigs and UI tokens are re-issued.
import type { Command } from 'commander';
import { copyFile, mkdir, access, readFile, writeFile } from 'node:fs/promises';
import { resolve, join, relative } from 'node:path';
import { loadConfig } from '../config/load.js';
import { startGateway, type RunningGateway } from '../main.js';
import { addUser } from '../identity/users.js';
import { TokenStore } from '../identity/tokens.js';
import { untilSignalled } from './signals.js';
import { startControlPlane, stopControlPlane, type TestbedState } from '../demo/control-plane.js';
import { apiClient, type ApiClient } from '../demo/api.js';
import { packageRoot } from '../package-root.js';

interface UpOptions {
  readonly dataDir: string;
  readonly port: string;
  readonly demo?: boolean;
  readonly context?: string;
  readonly kubeconfig?: string;
}

/** Demo people: alice asks, bob and carol review (carol is also security). */
const PEOPLE: readonly { name: string; groups: string[] }[] = [
  { name: 'alice', groups: ['dev'] },
  { name: 'bob', groups: ['sre'] },
  { name: 'carol', groups: ['sre', 'security'] },
];

/** A path as the user can type it: relative to the working directory when below it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

async function must(api: ApiClient, method: string, path: string, body: unknown): Promise<void> {
  const res = await api.call(method, path, body);
  if (res.status >= 300 && res.status !== 409)
    throw new Error(`demo set-up: ${method} ${path}: ${res.status} ${res.text}`);
}

const binding = (ns: string | null, name: string, role: string, group: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: ns === null ? 'ClusterRoleBinding' : 'RoleBinding',
  metadata: { name, ...(ns === null ? {} : { namespace: ns }) },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
});

const labels = (app: string) => ({ app });
const podSpec = (image: string) => ({ containers: [{ name: 'main', image }] });

/** Namespaces staging and prod, a deployment in each, a statefulset and a sensitive pod in prod. */
async function seedDemo(state: TestbedState): Promise<void> {
  const api = apiClient(state.server, state.caPem, state.users.admin!.token);
  try {
    for (const ns of ['staging', 'prod']) {
      await must(api, 'POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns },
      });
      await must(
        api,
        'POST',
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
        binding(ns, 'dev-edit', 'edit', 'dev'),
      );
      await must(api, 'POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', labels: labels('web') },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels('web') },
          template: { metadata: { labels: labels('web') }, spec: podSpec('nginx:1.27') },
        },
      });
    }
    await must(
      api,
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      binding(null, 'reviewers-view', 'view', 'sre'),
    );
    await must(api, 'POST', '/apis/apps/v1/namespaces/prod/statefulsets', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', labels: labels('db') },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: labels('db') },
        template: { metadata: { labels: labels('db') }, spec: podSpec('postgres:16') },
      },
    });
    await must(api, 'POST', '/api/v1/namespaces/prod/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'vault-0', labels: { app: 'vault', sensitive: 'true' } },
      spec: podSpec('hashicorp/vault:1.17'),
    });
  } finally {
    await api.close();
  }
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description(
      'start kubegate with an example policy and demo users (and, by default, a demo control plane)',
    )
    .option('--data-dir <dir>', 'where kubegate keeps its state', '.kubegate')
    .option('--port <port>', 'port kubegate listens on (127.0.0.1)', '8443')
    .option('--demo', 'start the demo control plane (the default unless --context is given)')
    .option(
      '--context <name>',
      'front this kubeconfig context instead of the demo (it must be allowed to impersonate)',
    )
    .option('--kubeconfig <file>', 'kubeconfig holding --context (default $KUBECONFIG or ~/.kube/config)')
    .action(async (opts: UpOptions) => {
      const dataDir = resolve(opts.dataDir);
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const demo = opts.demo === true || opts.context === undefined;
      let testbed: TestbedState | null = null;
      let gateway: RunningGateway | null = null;
      try {
        let upstream: { kubeconfig: string; context?: string };
        if (demo) {
          console.log(
            'Starting the demo control plane (the first run builds it from source: about 6-10 minutes)…',
          );
          testbed = await startControlPlane({ dir: join(dataDir, 'testbed'), verbose: true });
          await seedDemo(testbed);
          upstream = { kubeconfig: testbed.upstreamKubeconfig };
        } else {
          const kubeconfig =
            opts.kubeconfig ??
            process.env.KUBECONFIG?.split(':')[0] ??
            join(process.env.HOME ?? '.', '.kube', 'config');
          upstream = { kubeconfig, context: opts.context };
        }
        const policyFile = join(dataDir, 'policy.yaml');
        const example = join(packageRoot(import.meta.dirname), 'examples', 'policy.yaml');
        if (!(await exists(policyFile))) await copyFile(example, policyFile);
        else if ((await readFile(policyFile, 'utf8')) !== (await readFile(example, 'utf8'))) {
          // Kept (it may hold the user's edits), but an older copy may lack rules the example
          // gained since (sensitive pods, proxies): say so rather than run it silently.
          console.log(
            `Note: ${relative(process.cwd(), policyFile)} differs from the example policy of this kubegate (kept as it is). To start from the current example: cp ${relative(process.cwd(), example)} ${relative(process.cwd(), policyFile)}`,
          );
        }
        const config = await loadConfig({
          overrides: {
            dataDir,
            listen: { host: '127.0.0.1', port: Number(opts.port) },
            upstream,
            policy: { file: policyFile },
            // The reviewers may read the audit trail in the UI; alice, a developer, may not.
            audit: { readers: { users: [], groups: ['sre', 'security'] } },
            // A demo's requests do not linger: unanswered after an hour, they expire.
            approvals: { pendingExpiryMs: 60 * 60_000 },
            publicUrl: `https://127.0.0.1:${Number(opts.port)}`,
          },
        });
        gateway = await startGateway(config);
        // Web UI sign-in: one token per person, in a file only they (the owner) can read. Each
        // start replaces the previous demo tokens rather than piling them up.
        const tokens = await TokenStore.open(dataDir);
        const tokenFiles: Record<string, string> = {};
        const kubeconfigs: Record<string, string> = {};
        for (const person of PEOPLE) {
          const out = join(dataDir, `${person.name}.kubeconfig`);
          await addUser({
            dataDir,
            name: person.name,
            groups: person.groups,
            credential: 'certificate',
            server: gateway.url,
            out,
            overwrite: true,
          });
          kubeconfigs[person.name] = shown(out);
          await tokens.revoke(person.name);
          const tokenFile = join(dataDir, `${person.name}.token`);
          await writeFile(tokenFile, `${await tokens.issue(person.name, person.groups)}\n`, { mode: 0o600 });
          tokenFiles[person.name] = shown(tokenFile);
        }
        const k = (who: string) => `kubectl --kubeconfig ${kubeconfigs[who]}`;
        const kg = (who: string, args: string) =>
          `npm run kubegate -- requests ${args} --kubeconfig ${kubeconfigs[who]}`;
        console.log(
          `\nkubegate is listening on ${gateway.url}${testbed ? ` in front of Kubernetes ${testbed.kubernetesVersion} (demo)` : ''}.`,
        );
        console.log(
          `Policy: ${relative(process.cwd(), policyFile)} (edit it: changes apply at once). People: alice (dev), bob (sre), carol (sre, security).\n`,
        );
        console.log('Allowed — deleting a deployment in staging:');
        console.log(`  ${k('alice')} delete deployment web -n staging`);
        console.log("Denied — deleting a deployment in prod (kubectl prints the rule's message):");
        console.log(`  ${k('alice')} delete deployment web -n prod`);
        console.log('Needs approval — exec into a pod labelled sensitive=true waits for security:');
        console.log(`  ${k('alice')} exec -n prod vault-0 -- cat /etc/hostname`);
        console.log('  …and in another shell, carol looks and approves:');
        console.log(`  ${kg('carol', 'list')}`);
        console.log(`  ${kg('carol', 'approve <id>')}`);
        console.log(
          `\nReviewer web UI: ${gateway.url}/ui — kubegate's own CA signs it, so the browser warns once`,
        );
        console.log(`(or trust ${shown(join(dataDir, 'pki', 'ca.crt'))}). Sign in with a token from a file:`);
        console.log(`  bob: ${tokenFiles.bob}   carol: ${tokenFiles.carol}   alice: ${tokenFiles.alice}`);
        console.log('\nPress Ctrl-C to stop.');
        await untilSignalled();
      } finally {
        console.log('Stopping…');
        await gateway?.close();
        if (testbed) await stopControlPlane(testbed.dir);
      }
    });
}
