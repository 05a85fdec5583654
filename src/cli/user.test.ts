// `kubegate user add`: flags reach addUser, and the output says what was written and how to use
// it (that text is the product, so it is asserted), never the credential.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Command } from 'commander';
import { parse } from 'yaml';
import { KubegateError } from '../errors.js';
import { TokenStore } from '../identity/tokens.js';
import { registerUser } from './user.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-cli-user-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const KUBEGATE = { command: '/opt/node/bin/node', args: ['/opt/kubegate/dist/src/cli/main.js'] };

async function run(args: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerUser(
    program,
    (line) => lines.push(line),
    () => KUBEGATE,
  );
  await program.parseAsync([...args], { from: 'user' });
  return lines;
}

interface KubeconfigDoc {
  clusters: { cluster: { server: string } }[];
  users: { name: string; user: Record<string, string> }[];
}

test('user add with repeated --group writes a certificate kubeconfig and says how to use it', async () => {
  const dataDir = join(root, 'state');
  const out = join(root, 'alice.kubeconfig');
  const lines = await run([
    'user',
    'add',
    'alice',
    '--group',
    'dev',
    '--group',
    'sre',
    '--out',
    out,
    '--data-dir',
    dataDir,
  ]);
  const doc = parse(await readFile(out, 'utf8')) as KubeconfigDoc;
  assert.equal(doc.clusters[0]?.cluster.server, 'https://127.0.0.1:8443');
  const cert = new X509Certificate(
    Buffer.from(doc.users[0]?.user['client-certificate-data'] ?? '', 'base64'),
  );
  assert.equal(cert.subject, 'CN=alice\nO=dev\nO=sre');
  const until = new Date(cert.validTo).toISOString().slice(0, 10);
  assert.deepEqual(lines, [
    `Wrote ${out} for user "alice" (groups: dev, sre).`,
    `It signs in to kubegate at https://127.0.0.1:8443 with a client certificate from kubegate's CA, valid until ${until}.`,
    'It holds a private key: keep it as secret as a password (the file is readable by its owner only).',
    'Use it:',
    `  kubectl --kubeconfig ${out} get pods`,
  ]);
});

test('user add --token --server writes a token kubeconfig and never prints the token', async () => {
  const out = join(root, 'bob.kubeconfig');
  const lines = await run([
    'user',
    'add',
    'bob',
    '--token',
    '--server',
    'https://gw.example.com:443',
    '--out',
    out,
    '--data-dir',
    join(root, 'state'),
  ]);
  const doc = parse(await readFile(out, 'utf8')) as KubeconfigDoc;
  const token = doc.users[0]?.user.token ?? '';
  assert.match(token, /^kg_/u);
  assert.equal(doc.clusters[0]?.cluster.server, 'https://gw.example.com');
  assert.deepEqual(lines, [
    `Wrote ${out} for user "bob" (no groups).`,
    'It signs in to kubegate at https://gw.example.com with a bearer token (kubegate stores only its hash), valid until revoked.',
    'It holds the token: keep it as secret as a password (the file is readable by its owner only).',
    'Use it:',
    `  kubectl --kubeconfig ${out} get pods`,
  ]);
  assert.equal(lines.join('\n').includes(token.slice(3, 12)), false);
});

test('a path with a space is quoted in the suggested command', async () => {
  const out = join(root, 'my configs', 'carol.kubeconfig');
  await mkdir(join(root, 'my configs'));
  const lines = await run([
    'user',
    'add',
    'carol',
    '--out',
    out,
    '--data-dir',
    join(root, 'state'),
    '--validity-days',
    '7',
  ]);
  assert.equal(lines.at(-1), `  kubectl --kubeconfig '${out}' get pods`);
});

test('user add refuses to overwrite a file unless --force is given', async () => {
  const out = join(root, 'dave.kubeconfig');
  const base = ['user', 'add', 'dave', '--out', out, '--data-dir', join(root, 'state')];
  await run(base);
  await assert.rejects(
    run(base),
    (err: unknown) => err instanceof KubegateError && err.code === 'KG_CONFIG_INVALID',
  );
  await run([...base, '--force']);
});

test('user add without --out is a usage error', async () => {
  await assert.rejects(run(['user', 'add', 'erin']), { code: 'commander.missingMandatoryOptionValue' });
});

test('user revoke withdraws every token of the user, and says that certificates stay valid', async () => {
  const dataDir = join(root, 'revoke');
  for (const file of ['bob-1', 'bob-2', 'carol']) {
    const name = file.split('-')[0]!;
    await run([
      'user',
      'add',
      name,
      '--token',
      '--out',
      join(root, `${file}.kubeconfig`),
      '--data-dir',
      dataDir,
    ]);
  }
  const tokenOf = async (file: string) =>
    /token: (\S+)/u.exec(await readFile(join(root, `${file}.kubeconfig`), 'utf8'))?.[1] ?? '';
  const lines = await run(['user', 'revoke', 'bob', '--data-dir', dataDir]);
  assert.equal(
    lines[0],
    'Revoked 2 bearer tokens of user "bob"; a running kubegate refuses them within a second.',
  );
  assert.match(lines[1] ?? '', /client certificate issued to "bob" stays valid until it expires/);
  const store = await TokenStore.open(dataDir);
  assert.equal(store.lookup(await tokenOf('bob-1')), null);
  assert.equal(store.lookup(await tokenOf('bob-2')), null);
  assert.equal(store.lookup(await tokenOf('carol'))?.user, 'carol');
  const again = await run(['user', 'revoke', 'bob', '--data-dir', dataDir]);
  assert.match(again[0] ?? '', /has no bearer token .*nothing changed/);
});

interface ExecKubeconfigDoc {
  clusters: { cluster: Record<string, string> }[];
  users: { name: string; user: { exec?: Record<string, unknown> } & Record<string, unknown> }[];
}

test('user add --oidc writes a kubeconfig whose user runs kubegate login, and mints nothing', async () => {
  const dataDir = join(root, 'oidc-state');
  const out = join(root, 'oidc.kubeconfig');
  const caFile = join(root, 'idp-ca.pem');
  await writeFile(caFile, 'PEM');
  const lines = await run([
    'user',
    'add',
    '--oidc',
    '--issuer',
    'https://idp.example.com/realms/x',
    '--client-id',
    'kubectl',
    '--ca-file',
    caFile,
    '--scope',
    'groups',
    '--server',
    'https://gw.example.com:8443',
    '--out',
    out,
    '--data-dir',
    dataDir,
  ]);
  const doc = parse(await readFile(out, 'utf8')) as ExecKubeconfigDoc;
  assert.equal(doc.clusters[0]?.cluster.server, 'https://gw.example.com:8443');
  assert.ok(doc.clusters[0]?.cluster['certificate-authority-data'], "the gateway's CA is trusted");
  const user = doc.users[0]!;
  assert.equal(user.name, 'oidc');
  assert.deepEqual(Object.keys(user.user), ['exec'], 'no token, no client certificate');
  const login = [
    '/opt/kubegate/dist/src/cli/main.js',
    'login',
    '--issuer',
    'https://idp.example.com/realms/x',
    '--client-id',
    'kubectl',
    '--ca-file',
    caFile,
    '--scope',
    'groups',
  ];
  assert.deepEqual(user.user.exec, {
    apiVersion: 'client.authentication.k8s.io/v1',
    command: '/opt/node/bin/node',
    args: login,
    interactiveMode: 'IfAvailable',
    provideClusterInfo: false,
    installHint:
      'kubegate login signs you in with your identity provider: install kubegate (npm install -g kubegate), or ask for this kubeconfig again (kubegate user add --oidc)',
  });
  assert.equal((await stat(out)).mode & 0o777, 0o600);
  assert.deepEqual(await TokenStore.open(dataDir).then((s) => s.lookup('anything')), null);
  assert.deepEqual(lines, [
    `Wrote ${out} for people who sign in at https://idp.example.com/realms/x (client ID kubectl).`,
    `It reaches kubegate at https://gw.example.com:8443; kubectl runs: /opt/node/bin/node ${login.join(' ')}`,
    'The first command opens the sign-in page in a browser (or prints its URL); later ones reuse and renew the sign-in, kept in ~/.kube/cache/kubegate (readable by you only).',
    'It holds no secret: everyone who signs in with this identity provider may use a copy.',
    'Use it:',
    `  kubectl --kubeconfig ${out} get pods`,
  ]);
});

test('user add --oidc writes a relative --ca-file as an absolute path (kubectl runs the plugin from any folder)', async () => {
  const out = join(root, 'oidc-relative.kubeconfig');
  await writeFile(join(root, 'ca-rel.pem'), 'PEM');
  const cwd = process.cwd();
  process.chdir(root);
  try {
    await run([
      'user',
      'add',
      'people',
      '--oidc',
      '--issuer',
      'https://idp.example.com',
      '--client-id',
      'kubectl',
      '--ca-file',
      'ca-rel.pem',
      '--out',
      out,
      '--data-dir',
      join(root, 'oidc-state'),
    ]);
  } finally {
    process.chdir(cwd);
  }
  const doc = parse(await readFile(out, 'utf8')) as ExecKubeconfigDoc;
  assert.equal(doc.users[0]?.name, 'people');
  const args = doc.users[0]?.user.exec?.args as string[];
  assert.equal(args[args.indexOf('--ca-file') + 1], join(root, 'ca-rel.pem'));
});

const oidcRefusals: { name: string; args: string[]; want: RegExp }[] = [
  {
    name: '--oidc without --issuer',
    args: ['--oidc', '--client-id', 'k'],
    want: /needs --issuer URL and --client-id/,
  },
  {
    name: '--oidc with --group (groups come from the provider)',
    args: ['--oidc', '--issuer', 'https://idp.example.com', '--client-id', 'k', '--group', 'sre'],
    want: /--group does not go with --oidc/,
  },
  {
    name: '--oidc with --token',
    args: ['--oidc', '--issuer', 'https://idp.example.com', '--client-id', 'k', '--token'],
    want: /--token does not go with --oidc/,
  },
  {
    name: '--oidc with an http issuer',
    args: ['--oidc', '--issuer', 'http://idp.example.com', '--client-id', 'k'],
    want: /must be an https:\/\/ URL/,
  },
  {
    name: '--oidc with a CA file that does not exist',
    args: [
      '--oidc',
      '--issuer',
      'https://idp.example.com',
      '--client-id',
      'k',
      '--ca-file',
      '/nonexistent/ca.pem',
    ],
    want: /cannot read the identity provider's CA file/,
  },
  {
    name: '--issuer without --oidc',
    args: ['someone', '--issuer', 'https://idp.example.com'],
    want: /--issuer goes with --oidc/,
  },
  { name: 'no name without --oidc', args: [], want: /give the new user's name/ },
];
for (const row of oidcRefusals) {
  test(`user add refuses ${row.name}`, async () => {
    const out = join(root, 'refused.kubeconfig');
    await assert.rejects(
      run(['user', 'add', ...row.args, '--out', out, '--data-dir', join(root, 'refusals')]),
      (err: unknown) =>
        err instanceof KubegateError && err.code === 'KG_CONFIG_INVALID' && row.want.test(err.message),
    );
    await assert.rejects(stat(out), { code: 'ENOENT' });
  });
}

test('user add --oidc --config takes the issuer, client, CA file and data folder from kubegate.yaml', async () => {
  const dir = join(root, 'from-config');
  await mkdir(dir);
  await writeFile(join(dir, 'idp-ca.pem'), 'PEM');
  await writeFile(
    join(dir, 'kubegate.yaml'),
    [
      'dataDir: ./state',
      'upstream: { kubeconfig: ./upstream.kubeconfig }',
      'identity:',
      '  oidc:',
      '    - issuerUrl: https://web.example.com',
      '      clientId: web',
      '      clientSecretFile: ./web-secret',
      '    - issuerUrl: https://idp.example.com',
      '      clientId: kubectl',
      '      caFile: ./idp-ca.pem',
      '      usernameClaim: email',
      '',
    ].join('\n'),
  );
  const out = join(dir, 'people.kubeconfig');
  const base = ['user', 'add', '--oidc', '--config', join(dir, 'kubegate.yaml'), '--out', out];
  await run([...base, '--issuer', 'https://idp.example.com']);
  const args = (parse(await readFile(out, 'utf8')) as ExecKubeconfigDoc).users[0]?.user.exec
    ?.args as string[];
  assert.deepEqual(args.slice(1), [
    'login',
    '--issuer',
    'https://idp.example.com',
    '--client-id',
    'kubectl',
    '--ca-file',
    join(dir, 'idp-ca.pem'),
  ]);
  // kubegate's CA is the one in the config's data folder (where `kubegate serve` keeps it).
  assert.ok((await stat(join(dir, 'state', 'pki', 'ca.crt'))).isFile());

  // The first issuer here is the web UI's confidential client: its ID is not for kubectl.
  await assert.rejects(run([...base, '--force']), {
    code: 'KG_CONFIG_INVALID',
    message: /the client web of https:\/\/web\.example\.com has a secret .*give its ID with --client-id/,
  });
  await run([...base, '--force', '--client-id', 'kubectl-public']);
  const first = (parse(await readFile(out, 'utf8')) as ExecKubeconfigDoc).users[0]?.user.exec
    ?.args as string[];
  assert.deepEqual(first.slice(2, 6), [
    '--issuer',
    'https://web.example.com',
    '--client-id',
    'kubectl-public',
  ]);

  await assert.rejects(run([...base, '--force', '--issuer', 'https://other.example.com']), {
    code: 'KG_CONFIG_INVALID',
    message:
      /does not trust the issuer https:\/\/other\.example\.com \(identity\.oidc has https:\/\/web\.example\.com, https:\/\/idp\.example\.com\)/,
  });
});
