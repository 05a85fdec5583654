// kubegate's own PKI: created once, reused, and the serving certificate renewed exactly when it
// no longer fits (hosts changed, expiring, not ours).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubegateError } from '../errors.js';
import { createCertificateAuthority, issueCertificate } from '../pki/certificates.js';
import { ensureGatewayCa, ensureGatewayPki } from './gateway-pki.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-pki-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
const fresh = (): Promise<string> => mkdtemp(join(root, 'data-'));

test('the first start creates a CA and a serving certificate for the hosts, keys 0600', async () => {
  const dataDir = await fresh();
  const pki = await ensureGatewayPki(dataDir, ['gateway.example.com', '10.1.2.3']);
  assert.equal(pki.caFile, join(dataDir, 'pki', 'ca.crt'));
  assert.equal(pki.certFile, join(dataDir, 'pki', 'server.crt'));
  assert.equal(pki.keyFile, join(dataDir, 'pki', 'server.key'));
  const ca = new X509Certificate(pki.caPem);
  const cert = new X509Certificate(pki.certPem);
  assert.equal(ca.ca, true);
  assert.equal(cert.checkIssued(ca) && cert.verify(ca.publicKey), true);
  assert.equal(
    cert.subjectAltName,
    'DNS:localhost, DNS:gateway.example.com, IP Address:127.0.0.1, IP Address:10.1.2.3',
  );
  for (const key of ['ca.key', 'server.key']) {
    assert.equal((await stat(join(dataDir, 'pki', key))).mode & 0o777, 0o600, key);
  }
  assert.equal((await stat(join(dataDir, 'pki'))).mode & 0o777, 0o700);
});

interface RenewRow {
  readonly name: string;
  readonly input: {
    readonly first: readonly string[];
    readonly then: readonly string[];
    /** Changes the files between the two starts. */
    readonly tamper?: (pkiDir: string, ca: { certPem: string; keyPem: string }) => Promise<void>;
  };
  readonly want: { readonly servingRenewed: boolean };
}

const renewals: readonly RenewRow[] = [
  {
    name: 'a later start with the same hosts reuses everything',
    input: { first: ['gw.example.com'], then: ['GW.example.com', 'localhost'] },
    want: { servingRenewed: false },
  },
  {
    name: 'an IPv6 host, bracketed or not, is matched on reuse',
    input: { first: ['[fd00::1]'], then: ['fd00::1'] },
    want: { servingRenewed: false },
  },
  {
    name: 'an added host renews the serving certificate',
    input: { first: ['gw.example.com'], then: ['gw.example.com', 'gw2.example.com'] },
    want: { servingRenewed: true },
  },
  {
    name: 'a removed host renews the serving certificate',
    input: { first: ['gw.example.com', '10.0.0.9'], then: ['gw.example.com'] },
    want: { servingRenewed: true },
  },
  {
    name: 'a serving certificate expiring within 30 days is renewed',
    input: {
      first: [],
      then: [],
      tamper: async (dir, ca) => {
        const short = await issueCertificate(ca, {
          commonName: 'kubegate',
          dnsNames: ['localhost'],
          ipAddresses: ['127.0.0.1'],
          usage: 'server',
          validityDays: 29,
        });
        await writeFile(join(dir, 'server.crt'), short.certPem);
        await writeFile(join(dir, 'server.key'), short.keyPem);
      },
    },
    want: { servingRenewed: true },
  },
  {
    name: 'a serving certificate from another CA is replaced',
    input: {
      first: [],
      then: [],
      tamper: async (dir) => {
        const other = await createCertificateAuthority('someone else');
        const leaf = await issueCertificate(other, {
          commonName: 'kubegate',
          dnsNames: ['localhost'],
          ipAddresses: ['127.0.0.1'],
          usage: 'server',
        });
        await writeFile(join(dir, 'server.crt'), leaf.certPem);
        await writeFile(join(dir, 'server.key'), leaf.keyPem);
      },
    },
    want: { servingRenewed: true },
  },
  {
    name: 'a missing serving key renews the serving certificate',
    input: { first: [], then: [], tamper: (dir) => rm(join(dir, 'server.key')) },
    want: { servingRenewed: true },
  },
];

for (const row of renewals) {
  test(row.name, async () => {
    const dataDir = await fresh();
    const first = await ensureGatewayPki(dataDir, row.input.first);
    await row.input.tamper?.(join(dataDir, 'pki'), { certPem: first.caPem, keyPem: first.caKeyPem });
    const second = await ensureGatewayPki(dataDir, row.input.then);
    assert.equal(second.caPem, first.caPem, 'the CA is never replaced');
    assert.equal(second.caKeyPem, first.caKeyPem);
    assert.equal(second.certPem !== first.certPem, row.want.servingRenewed);
    const cert = new X509Certificate(second.certPem);
    assert.equal(cert.checkIssued(new X509Certificate(second.caPem)), true);
    // What was returned is what is on disk for the next start.
    const third = await ensureGatewayPki(dataDir, row.input.then);
    assert.equal(third.certPem, second.certPem);
  });
}

test('ensureGatewayCa alone creates the CA once and then reuses it', async () => {
  const dataDir = await fresh();
  const a = await ensureGatewayCa(dataDir);
  const b = await ensureGatewayCa(dataDir);
  assert.equal(b.caPem, a.caPem);
  assert.equal(b.caKeyFile, join(dataDir, 'pki', 'ca.key'));
  const pki = await ensureGatewayPki(dataDir, []);
  assert.equal(pki.caPem, a.caPem);
});

interface RefusalRow {
  readonly name: string;
  readonly input: { readonly tamper: (pkiDir: string) => Promise<void>; readonly hosts: readonly string[] };
  readonly want: { readonly code: string };
}

const refusals: readonly RefusalRow[] = [
  {
    name: 'a CA certificate without its key is refused, not replaced',
    input: { tamper: (dir) => rm(join(dir, 'ca.key')), hosts: [] },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'a CA key without its certificate is refused, not replaced',
    input: { tamper: (dir) => rm(join(dir, 'ca.crt')), hosts: [] },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'a CA key that does not match the certificate is refused',
    input: {
      tamper: async (dir) => writeFile(join(dir, 'ca.key'), (await createCertificateAuthority('x')).keyPem),
      hosts: [],
    },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'a host that is not a name or an address is refused',
    input: { tamper: async () => {}, hosts: ['gate way'] },
    want: { code: 'KG_CONFIG_INVALID' },
  },
];

for (const row of refusals) {
  test(row.name, async () => {
    const dataDir = await fresh();
    await ensureGatewayPki(dataDir, []);
    await row.input.tamper(join(dataDir, 'pki'));
    await assert.rejects(ensureGatewayPki(dataDir, row.input.hosts), (err: unknown) => {
      assert.ok(err instanceof KubegateError);
      assert.equal(err.code, row.want.code);
      return true;
    });
  });
}
