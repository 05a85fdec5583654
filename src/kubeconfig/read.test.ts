// Reading kubegate's own upstream identity from a kubeconfig or a service account. Refusals
// assert the code and the phrase that names the refused setting (every refusal shares the code,
// so the phrase shows the right one fired).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { KubegateError } from '../errors.js';
import { createCertificateAuthority, issueCertificate } from '../pki/certificates.js';
import type { PemPair } from '../pki/certificates.js';
import { TOKEN_REREAD_MS, upstreamFromKubeconfig, upstreamInCluster } from './read.js';
import type { UpstreamTarget } from './read.js';
import { writeKubeconfig } from './write.js';

let dir: string;
let ca: PemPair;
let client: PemPair;
let otherClient: PemPair;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-kubeconfig-'));
  ca = await createCertificateAuthority('upstream CA');
  client = await issueCertificate(ca, { commonName: 'kubegate', usage: 'client' });
  otherClient = await issueCertificate(ca, { commonName: 'other', usage: 'client' });
  await mkdir(join(dir, 'creds'));
  await writeFile(join(dir, 'creds', 'ca.crt'), ca.certPem);
  await writeFile(join(dir, 'creds', 'client.crt'), client.certPem);
  await writeFile(join(dir, 'creds', 'client.key'), client.keyPem);
  await writeFile(join(dir, 'creds', 'token'), 'file-token\n');
  await writeFile(join(dir, 'creds', 'empty-token'), '\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A one-context kubeconfig (context "c", cluster "k", user "u") with the given entries. */
function kubeconfig(
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'k', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
    'current-context': 'c',
  };
}

let n = 0;
async function write(doc: Record<string, unknown>): Promise<string> {
  const path = join(dir, `kubeconfig-${n++}.yaml`);
  await writeFile(path, stringify(doc));
  return path;
}

/** The target with the token function replaced by its value, for deepEqual. */
function plain(target: UpstreamTarget): unknown {
  return target.auth.kind === 'token'
    ? { ...target, auth: { kind: 'token', token: target.auth.token() } }
    : target;
}

test("the test bed's kubeconfig (token + certificate-authority-data) is read", async () => {
  const path = join(dir, 'testbed.kubeconfig');
  await writeKubeconfig(path, {
    clusterName: 'testbed',
    server: 'https://127.0.0.1:39443',
    caPem: ca.certPem,
    userName: 'kubegate',
    credential: { token: 'abc123' },
  });
  assert.deepEqual(plain(await upstreamFromKubeconfig(path)), {
    server: 'https://127.0.0.1:39443',
    caPem: ca.certPem,
    tlsServerName: null,
    auth: { kind: 'token', token: 'abc123' },
  });
});

interface ValidRow {
  readonly name: string;
  readonly input: { readonly doc: () => Record<string, unknown>; readonly context?: string };
  readonly want: () => unknown;
}

const valid: readonly ValidRow[] = [
  {
    name: 'relative certificate and key files resolve against the kubeconfig folder',
    input: {
      doc: () =>
        kubeconfig(
          { 'certificate-authority': 'creds/ca.crt' },
          { 'client-certificate': 'creds/client.crt', 'client-key': 'creds/client.key' },
        ),
    },
    want: () => ({
      server: 'https://127.0.0.1:6443',
      caPem: ca.certPem,
      tlsServerName: null,
      auth: { kind: 'client-certificate', certPem: client.certPem, keyPem: client.keyPem },
    }),
  },
  {
    name: 'embedded client certificate and key data are decoded',
    input: {
      doc: () =>
        kubeconfig(
          { 'certificate-authority-data': b64(ca.certPem) },
          { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(client.keyPem) },
        ),
    },
    want: () => ({
      server: 'https://127.0.0.1:6443',
      caPem: ca.certPem,
      tlsServerName: null,
      auth: { kind: 'client-certificate', certPem: client.certPem, keyPem: client.keyPem },
    }),
  },
  {
    name: 'no certificate authority means the system CAs, and tls-server-name is kept',
    input: {
      doc: () =>
        kubeconfig(
          { server: 'https://api.example.com/', 'tls-server-name': 'kubernetes' },
          { tokenFile: 'creds/token' },
        ),
    },
    want: () => ({
      server: 'https://api.example.com',
      caPem: null,
      tlsServerName: 'kubernetes',
      auth: { kind: 'token', token: 'file-token' },
    }),
  },
  {
    name: 'a named context wins over current-context',
    input: {
      doc: () => {
        const doc = kubeconfig({}, { token: 'current' });
        return {
          ...doc,
          clusters: [
            ...(doc.clusters as unknown[]),
            { name: 'k2', cluster: { server: 'https://[::1]:8443' } },
          ],
          users: [...(doc.users as unknown[]), { name: 'u2', user: { token: 'other' } }],
          contexts: [...(doc.contexts as unknown[]), { name: 'c2', context: { cluster: 'k2', user: 'u2' } }],
        };
      },
      context: 'c2',
    },
    want: () => ({
      server: 'https://[::1]:8443',
      caPem: null,
      tlsServerName: null,
      auth: { kind: 'token', token: 'other' },
    }),
  },
  {
    name: 'a user with no credential connects without one',
    input: { doc: () => kubeconfig({}, {}) },
    want: () => ({
      server: 'https://127.0.0.1:6443',
      caPem: null,
      tlsServerName: null,
      auth: { kind: 'none' },
    }),
  },
];

for (const row of valid) {
  test(row.name, async () => {
    assert.deepEqual(
      plain(await upstreamFromKubeconfig(await write(row.input.doc()), row.input.context)),
      row.want(),
    );
  });
}

interface RefusalRow {
  readonly name: string;
  readonly input: { readonly doc: () => Record<string, unknown>; readonly context?: string };
  /** The phrase that shows which refusal fired. */
  readonly want: RegExp;
}

const refusals: readonly RefusalRow[] = [
  {
    name: 'a context that is not in the file is refused, listing the contexts',
    input: { doc: () => kubeconfig({}, { token: 't' }), context: 'prod' },
    want: /context "prod" is not in .* \(contexts: c\)/u,
  },
  {
    name: 'a file without current-context and no context named is refused',
    input: { doc: () => ({ ...kubeconfig({}, { token: 't' }), 'current-context': '' }) },
    want: /has no current-context; name one with upstream.context/u,
  },
  {
    name: 'a context pointing at a missing cluster is refused',
    input: { doc: () => ({ ...kubeconfig({}, { token: 't' }), clusters: [] }) },
    want: /cluster "k" is not in .* \(clusters: none\)/u,
  },
  {
    name: 'insecure-skip-tls-verify is refused: kubegate always verifies upstream TLS',
    input: { doc: () => kubeconfig({ 'insecure-skip-tls-verify': true }, { token: 't' }) },
    want: /insecure-skip-tls-verify: true, but kubegate always verifies/u,
  },
  {
    name: 'a plain http server is refused',
    input: { doc: () => kubeconfig({ server: 'http://127.0.0.1:8080' }, { token: 't' }) },
    want: /is not https/u,
  },
  {
    name: 'a server with a path is refused rather than cut short',
    input: {
      doc: () => kubeconfig({ server: 'https://rancher.example.com/k8s/clusters/c-1' }, { token: 't' }),
    },
    want: /has a path, query or user/u,
  },
  {
    name: 'a cluster without a server is refused',
    input: { doc: () => kubeconfig({ server: null }, { token: 't' }) },
    want: /server "" is not a URL/u,
  },
  {
    name: 'an exec credential plugin is refused with what to use instead',
    input: {
      doc: () =>
        kubeconfig(
          {},
          { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks'] } },
        ),
    },
    want: /exec credential plugin \(aws\), which kubegate does not support\. Give kubegate's identity a token/u,
  },
  {
    name: 'an auth-provider plugin is refused with what to use instead',
    input: { doc: () => kubeconfig({}, { 'auth-provider': { name: 'oidc', config: {} } }) },
    want: /auth-provider plugin "oidc", which kubegate does not support\. Give/u,
  },
  {
    name: 'basic authentication is refused',
    input: { doc: () => kubeconfig({}, { username: 'admin', password: 'secret' }) },
    want: /basic authentication/u,
  },
  {
    name: 'a user that impersonates someone is refused',
    input: { doc: () => kubeconfig({}, { token: 't', as: 'admin' }) },
    want: /impersonates someone/u,
  },
  {
    name: 'a proxy-url is refused rather than ignored',
    input: { doc: () => kubeconfig({ 'proxy-url': 'socks5://127.0.0.1:1080' }, { token: 't' }) },
    want: /proxy-url/u,
  },
  {
    name: 'certificate-authority and its -data together are refused, as kubectl does',
    input: {
      doc: () =>
        kubeconfig(
          { 'certificate-authority': 'creds/ca.crt', 'certificate-authority-data': b64(ca.certPem) },
          { token: 't' },
        ),
    },
    want: /sets both certificate-authority and certificate-authority-data/u,
  },
  {
    name: 'a token and a client certificate together are refused',
    input: { doc: () => kubeconfig({}, { token: 't', 'client-certificate': 'creds/client.crt' }) },
    want: /both a token and a client certificate/u,
  },
  {
    name: 'a client certificate without its key is refused',
    input: { doc: () => kubeconfig({}, { 'client-certificate': 'creds/client.crt' }) },
    want: /client certificate without its key/u,
  },
  {
    name: 'a client key that does not belong to the certificate is refused',
    input: {
      doc: () =>
        kubeconfig(
          {},
          { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(otherClient.keyPem) },
        ),
    },
    want: /client-key does not belong to client-certificate/u,
  },
  {
    name: 'certificate-authority-data that is not a certificate is refused',
    input: { doc: () => kubeconfig({ 'certificate-authority-data': b64('hello') }, { token: 't' }) },
    want: /certificate-authority is not a PEM certificate/u,
  },
  {
    name: 'a missing certificate-authority file is refused with its path',
    input: { doc: () => kubeconfig({ 'certificate-authority': 'nope/ca.crt' }, { token: 't' }) },
    want: /certificate-authority .*nope\/ca\.crt does not exist/u,
  },
  {
    name: 'a missing tokenFile is refused with its path',
    input: { doc: () => kubeconfig({}, { tokenFile: 'creds/absent-token' }) },
    want: /tokenFile .*creds\/absent-token does not exist/u,
  },
  {
    name: 'an empty tokenFile is refused',
    input: { doc: () => kubeconfig({}, { tokenFile: 'creds/empty-token' }) },
    want: /tokenFile .*creds\/empty-token is empty/u,
  },
  {
    name: 'a document that is not a kubeconfig is refused',
    input: { doc: () => ({ clusters: 'none' }) },
    want: /is not a kubeconfig: clusters:/u,
  },
];

for (const row of refusals) {
  test(row.name, async () => {
    const path = await write(row.input.doc());
    await assert.rejects(upstreamFromKubeconfig(path, row.input.context), (err: unknown) => {
      assert.ok(err instanceof KubegateError);
      assert.equal(err.code, 'KG_CONFIG_INVALID');
      assert.match(err.message, row.want);
      return true;
    });
  });
}

test('a missing kubeconfig is refused with its path', async () => {
  await assert.rejects(upstreamFromKubeconfig(join(dir, 'absent.yaml')), (err: unknown) => {
    assert.ok(err instanceof KubegateError);
    assert.equal(err.code, 'KG_CONFIG_INVALID');
    assert.match(err.message, /absent\.yaml does not exist/u);
    return true;
  });
});

test('no refusal message carries the token', async () => {
  const path = await write(kubeconfig({ server: 'http://x' }, { token: 'sekret-token-value' }));
  await assert.rejects(upstreamFromKubeconfig(path), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.doesNotMatch(err.message, /sekret/u);
    return true;
  });
});

test('a tokenFile is re-read once a minute, and a failed re-read keeps the last token', async () => {
  const tokenPath = join(dir, 'rotating-token');
  await writeFile(tokenPath, 'first');
  let now = 1_000_000;
  const target = await upstreamFromKubeconfig(
    await write(kubeconfig({}, { tokenFile: tokenPath })),
    undefined,
    {
      now: () => now,
    },
  );
  assert.equal(target.auth.kind, 'token');
  if (target.auth.kind !== 'token') return;
  await writeFile(tokenPath, 'second\n');
  now += TOKEN_REREAD_MS - 1;
  assert.equal(target.auth.token(), 'first', 'not re-read within the interval');
  now += 1;
  assert.equal(target.auth.token(), 'second', 're-read after the interval, trimmed');
  await rm(tokenPath);
  now += TOKEN_REREAD_MS;
  assert.equal(target.auth.token(), 'second', 'a missing file keeps the last token');
  await writeFile(tokenPath, 'third');
  assert.equal(target.auth.token(), 'second', 'the failed read still counts as a read');
  now += TOKEN_REREAD_MS;
  assert.equal(target.auth.token(), 'third');
});

// --- in-cluster ---

async function serviceAccount(token: string): Promise<string> {
  const root = await mkdtemp(join(dir, 'sa-'));
  await writeFile(join(root, 'ca.crt'), ca.certPem);
  await writeFile(join(root, 'token'), token);
  return root;
}

test("in-cluster reads the service account's CA and token and the service address", async () => {
  const root = await serviceAccount('sa-token');
  const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  assert.deepEqual(plain(await upstreamInCluster(env, root)), {
    server: 'https://10.96.0.1',
    caPem: ca.certPem,
    tlsServerName: null,
    auth: { kind: 'token', token: 'sa-token' },
  });
});

test('in-cluster brackets an IPv6 service address', async () => {
  const root = await serviceAccount('sa-token');
  const target = await upstreamInCluster(
    { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
    root,
  );
  assert.equal(target.server, 'https://[fd00::1]:6443');
});

test('in-cluster re-reads the rotated bound token after a minute', async () => {
  const root = await serviceAccount('bound-1');
  let now = 0;
  const target = await upstreamInCluster(
    { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
    root,
    { now: () => now },
  );
  assert.equal(target.auth.kind, 'token');
  if (target.auth.kind !== 'token') return;
  await writeFile(join(root, 'token'), 'bound-2');
  assert.equal(target.auth.token(), 'bound-1');
  now = TOKEN_REREAD_MS;
  assert.equal(target.auth.token(), 'bound-2');
});

interface InClusterRefusal {
  readonly name: string;
  readonly input: { readonly env: NodeJS.ProcessEnv; readonly token: string; readonly noCa?: boolean };
  readonly want: RegExp;
}

const inClusterRefusals: readonly InClusterRefusal[] = [
  {
    name: 'in-cluster outside a pod is refused with what to use instead',
    input: { env: {}, token: 't' },
    want: /not running in a Kubernetes pod\. Use upstream\.kubeconfig/u,
  },
  {
    name: 'in-cluster with a non-numeric port is refused',
    input: { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: 'https' }, token: 't' },
    want: /not a port number/u,
  },
  {
    name: 'in-cluster with an empty token file is refused',
    input: { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, token: '\n' },
    want: /token .* is empty/u,
  },
  {
    name: 'in-cluster without a CA file is refused',
    input: {
      env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      token: 't',
      noCa: true,
    },
    want: /CA certificate .*ca\.crt does not exist/u,
  },
];

for (const row of inClusterRefusals) {
  test(row.name, async () => {
    const root = await serviceAccount(row.input.token);
    if (row.input.noCa === true) await rm(join(root, 'ca.crt'));
    await assert.rejects(upstreamInCluster(row.input.env, root), (err: unknown) => {
      assert.ok(err instanceof KubegateError);
      assert.equal(err.code, 'KG_CONFIG_INVALID');
      assert.match(err.message, row.want);
      return true;
    });
  });
}
