// `kubegate user add`: flags reach addUser, and the output says what was written and how to use
// it (that text is the product, so it is asserted), never the credential.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
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

async function run(args: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerUser(program, (line) => lines.push(line));
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
