// addUser: the kubeconfig it writes carries a credential that kubegate's own checks accept, shown
// through a real TLS handshake on loopback (certificate) and the token store (token).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { KubegateError } from '../errors.js';
import { upstreamFromKubeconfig } from '../kubeconfig/read.js';
import { ensureGatewayPki } from './gateway-pki.js';
import { gatewayIdentify } from './authenticators.js';
import type { ClientCredentials } from './identify.js';
import { TokenStore } from './tokens.js';
import { addUser } from './users.js';
import type { AddUserOptions } from './users.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-users-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
const fresh = (): Promise<string> => mkdtemp(join(root, 'data-'));

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { name: string; user: Record<string, string> }[];
  'current-context': string;
}
const readKubeconfig = async (path: string): Promise<Kubeconfig> =>
  parse(await readFile(path, 'utf8')) as Kubeconfig;
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** What identify makes of a TLS client presenting `certPem`/`keyPem` to a gateway with `pki`. */
async function identifyOverTls(
  pki: { certPem: string; keyPem: string; caPem: string },
  client: { certPem: string; keyPem: string },
): Promise<unknown> {
  const server = createServer({
    cert: pki.certPem,
    key: pki.keyPem,
    ca: pki.caPem,
    requestCert: true,
    rejectUnauthorized: false,
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const credentials = new Promise<ClientCredentials>((resolveCredentials) => {
    server.once('secureConnection', (socket: TLSSocket) => {
      const peer = socket.getPeerCertificate();
      resolveCredentials({
        certificate: peer.subject ? { authorized: socket.authorized, subject: peer.subject } : null,
        authorization: undefined,
      });
    });
  });
  const socket = connect({
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    ca: pki.caPem,
    cert: client.certPem,
    key: client.keyPem,
    servername: 'localhost',
  });
  try {
    await once(socket, 'secureConnect');
    return (await gatewayIdentify({ lookupDigest: () => null })(await credentials)).identity;
  } finally {
    socket.destroy();
    server.close();
    server.closeAllConnections();
  }
}

test('a certificate user gets a kubeconfig whose certificate kubegate identifies as CN and O', async () => {
  const dataDir = await fresh();
  const out = join(root, 'alice.kubeconfig');
  const added = await addUser({
    dataDir,
    name: 'alice',
    groups: ['dev', 'sre'],
    credential: 'certificate',
    server: 'https://gw.example.com:8443/',
    out,
    validityDays: 30,
  });
  assert.equal(added.kubeconfig, out);
  assert.equal(added.server, 'https://gw.example.com:8443');
  assert.ok(added.expiresAt !== null && added.expiresAt.getTime() - Date.now() < 31 * 86_400_000);
  assert.equal((await stat(out)).mode & 0o777, 0o600);

  const pki = await ensureGatewayPki(dataDir, ['gw.example.com']);
  const doc = await readKubeconfig(out);
  assert.equal(doc.clusters[0]?.cluster.server, 'https://gw.example.com:8443');
  assert.equal(unb64(doc.clusters[0]?.cluster['certificate-authority-data']), pki.caPem);
  const user = doc.users[0]?.user ?? {};
  const client = { certPem: unb64(user['client-certificate-data']), keyPem: unb64(user['client-key-data']) };
  assert.deepEqual(await identifyOverTls(pki, client), {
    user: 'alice',
    groups: ['dev', 'sre'],
    method: 'client-certificate',
  });
  // And it is a kubeconfig kubegate's own reader accepts (https, CA data, matching key).
  const target = await upstreamFromKubeconfig(out);
  assert.equal(target.auth.kind, 'client-certificate');
});

test("a certificate from another data directory's CA is refused over TLS", async () => {
  const out = join(root, 'mallory.kubeconfig');
  await addUser({
    dataDir: await fresh(),
    name: 'mallory',
    groups: [],
    credential: 'certificate',
    server: 'https://127.0.0.1:8443',
    out,
  });
  const pki = await ensureGatewayPki(await fresh(), []);
  const user = (await readKubeconfig(out)).users[0]?.user ?? {};
  await assert.rejects(
    identifyOverTls(pki, {
      certPem: unb64(user['client-certificate-data']),
      keyPem: unb64(user['client-key-data']),
    }),
    (err: unknown) => err instanceof KubegateError && err.code === 'KG_AUTHN_CERT_INVALID',
  );
});

test('a token user gets a kubeconfig whose token the token store identifies', async () => {
  const dataDir = await fresh();
  const out = join(root, 'bob.kubeconfig');
  const added = await addUser({
    dataDir,
    name: 'bob',
    groups: ['sre'],
    credential: 'token',
    server: 'https://127.0.0.1:8443',
    out,
  });
  assert.equal(added.expiresAt, null);
  const token = (await readKubeconfig(out)).users[0]?.user.token ?? '';
  const tokens = await TokenStore.open(dataDir);
  const { identity } = await gatewayIdentify(tokens)({ certificate: null, authorization: `Bearer ${token}` });
  assert.deepEqual(identity, {
    user: 'bob',
    groups: ['sre'],
    method: 'token',
  });
  assert.equal((await readFile(tokens.file, 'utf8')).includes(token), false);
});

test('--force replaces an existing file and leaves it 0600', async () => {
  const out = join(root, 'replaced.kubeconfig');
  await writeFile(out, 'old', { mode: 0o644 });
  await addUser({
    dataDir: await fresh(),
    name: 'carol',
    groups: [],
    credential: 'token',
    server: 'https://127.0.0.1:8443',
    out,
    overwrite: true,
  });
  assert.equal((await stat(out)).mode & 0o777, 0o600);
  assert.equal((await readKubeconfig(out)).users[0]?.name, 'carol');
});

interface RefusalRow {
  readonly name: string;
  readonly input: Partial<AddUserOptions> & { readonly existingOut?: boolean };
  readonly want: { readonly code: string };
}

const refusals: readonly RefusalRow[] = [
  {
    name: 'an existing output file is not overwritten without --force',
    input: { existingOut: true },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  { name: 'an empty user name is refused', input: { name: '' }, want: { code: 'KG_CONFIG_INVALID' } },
  {
    name: 'a group with a control character is refused',
    input: { groups: ['dev\n'] },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'a plain http gateway URL is refused',
    input: { server: 'http://127.0.0.1:8443' },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'a gateway URL with a path is refused',
    input: { server: 'https://gw/prefix' },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'a validity for a token is refused',
    input: { credential: 'token', validityDays: 30 },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'a validity of zero days is refused',
    input: { validityDays: 0 },
    want: { code: 'KG_CONFIG_INVALID' },
  },
];

for (const row of refusals) {
  test(row.name, async () => {
    const dataDir = await fresh();
    const out = join(dataDir, 'out.kubeconfig');
    if (row.input.existingOut === true) await writeFile(out, 'keep me');
    const { existingOut: _, ...input } = row.input;
    await assert.rejects(
      addUser({
        dataDir,
        name: 'alice',
        groups: [],
        credential: 'certificate',
        server: 'https://127.0.0.1:8443',
        out,
        ...input,
      }),
      (err: unknown) => {
        assert.ok(err instanceof KubegateError);
        assert.equal(err.code, row.want.code);
        return true;
      },
    );
    if (row.input.existingOut === true) assert.equal(await readFile(out, 'utf8'), 'keep me');
    // Nothing was issued: no token store was written.
    await assert.rejects(stat(join(dataDir, 'tokens.json')), { code: 'ENOENT' });
  });
}

test("an agent's token names the person it acts for; a certificate cannot carry one", async () => {
  const dataDir = await fresh();
  const out = join(dataDir, 'claude.kubeconfig');
  await addUser({
    dataDir,
    name: 'claude',
    groups: ['agents'],
    credential: 'token',
    server: 'https://127.0.0.1:8443',
    out,
    onBehalfOf: 'alice',
  });
  const token = (await readKubeconfig(out)).users[0]?.user['token'] ?? '';
  const identify = gatewayIdentify(await TokenStore.open(dataDir), null, { users: [], groups: ['agents'] });
  const found = await identify({ certificate: null, authorization: `Bearer ${token}` });
  assert.equal(found.identity.agent, true);
  assert.equal(found.identity.onBehalfOf, 'alice');
  await assert.rejects(
    addUser({
      dataDir,
      name: 'claude',
      groups: ['agents'],
      credential: 'certificate',
      server: 'https://127.0.0.1:8443',
      out: join(dataDir, 'cert.kubeconfig'),
      onBehalfOf: 'alice',
    }),
    (err: unknown) => err instanceof KubegateError && err.code === 'KG_CONFIG_INVALID',
  );
});
