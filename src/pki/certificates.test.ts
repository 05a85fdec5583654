import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority, issueCertificate, createSigningKeyPair } from './certificates.js';

test('a CA signs a server certificate whose SANs and issuer Node verifies', async () => {
  const ca = await createCertificateAuthority('test CA');
  const leaf = await issueCertificate(ca, {
    commonName: 'gateway',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  const caCert = new X509Certificate(ca.certPem);
  const cert = new X509Certificate(leaf.certPem);
  assert.equal(caCert.ca, true);
  assert.equal(cert.ca, false);
  assert.equal(cert.verify(caCert.publicKey), true);
  assert.equal(cert.checkIssued(caCert), true);
  assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(cert.checkHost('localhost'), 'localhost');
  assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----/);
});

test('a client certificate carries the user as CN and each group as an O', async () => {
  const ca = await createCertificateAuthority('test CA');
  const leaf = await issueCertificate(ca, {
    commonName: 'alice',
    organizations: ['dev', 'sre'],
    usage: 'client',
  });
  const cert = new X509Certificate(leaf.certPem);
  assert.match(cert.subject, /CN=alice/);
  assert.match(cert.subject, /O=dev/);
  assert.match(cert.subject, /O=sre/);
  assert.equal(cert.verify(new X509Certificate(ca.certPem).publicKey), true);
});

test('a certificate from another CA does not verify against ours', async () => {
  const ours = await createCertificateAuthority('ours');
  const theirs = await createCertificateAuthority('theirs');
  const leaf = await issueCertificate(theirs, { commonName: 'mallory', usage: 'client' });
  assert.equal(new X509Certificate(leaf.certPem).verify(new X509Certificate(ours.certPem).publicKey), false);
});

test('a signing key pair exports PKCS#8 and SPKI PEM', async () => {
  const pair = await createSigningKeyPair();
  assert.match(pair.privateKeyPem, /BEGIN PRIVATE KEY/);
  assert.match(pair.publicKeyPem, /BEGIN PUBLIC KEY/);
});

test('PEM blocks end with a newline so that a certificate and its key concatenate into one valid file', async () => {
  const ca = await createCertificateAuthority('test CA');
  const leaf = await issueCertificate(ca, { commonName: 'x', usage: 'server' });
  for (const text of [ca.certPem, ca.keyPem, leaf.certPem, leaf.keyPem]) assert.ok(text.endsWith('-----\n'));
  const pair = await createSigningKeyPair();
  assert.ok(pair.publicKeyPem.endsWith('-----\n'));
  assert.match(leaf.certPem + leaf.keyPem, /END CERTIFICATE-----\n-----BEGIN PRIVATE KEY/);
});
