// kubegate's own PKI in <dataDir>/pki: the CA that signs users' client certificates (and that
// the listener trusts for them), and the gateway's serving certificate. Place: startup, before
// the listener exists (when the config names no tls.certFile), and `kubegate user add`.
// Input: the data directory and the names clients reach the gateway by. Output: the PEMs and
// their files. Must never replace an existing CA (every certificate it issued would stop
// working, so a half-present CA is an error, not a reason to start over), never write a key
// readable by others (0600, in a 0700 folder), and never keep serving a certificate that no
// longer names the gateway's hosts or is about to expire.
//
//   pki/ca.crt  pki/ca.key          created once
//   pki/server.crt  pki/server.key  SANs: hosts + localhost + 127.0.0.1; renewed on a hosts
//                                   change or within 30 days of expiry

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { KubegateError } from '../errors.js';
import { createCertificateAuthority, issueCertificate } from '../pki/certificates.js';
import { writeFileAtomic } from './write-file-atomic.js';

export interface GatewayCa {
  readonly caPem: string;
  readonly caKeyPem: string;
  readonly caFile: string;
  readonly caKeyFile: string;
}

export interface GatewayPki {
  readonly caPem: string;
  readonly caKeyPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** A serving certificate this close to its end is replaced at startup. */
export const SERVING_RENEW_BEFORE_DAYS = 30;
const SERVING_VALIDITY_DAYS = 365;
const DAY_MS = 86_400_000;

// A DNS name (optionally a leading wildcard label), lower-case after normalisation.
const DNS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/u;

/** kubegate's CA, created on first use. */
export async function ensureGatewayCa(dataDir: string): Promise<GatewayCa> {
  const dir = await pkiDir(dataDir);
  const caFile = join(dir, 'ca.crt');
  const caKeyFile = join(dir, 'ca.key');
  const [caPem, caKeyPem] = await Promise.all([readIfPresent(caFile), readIfPresent(caKeyFile)]);
  if (caPem === null && caKeyPem === null) {
    const ca = await createCertificateAuthority('kubegate CA');
    // Key first: a crash between the two writes leaves a key without a certificate, which the
    // check below reports instead of silently making a second CA.
    await writeFileAtomic(caKeyFile, ca.keyPem, 0o600);
    await writeFileAtomic(caFile, ca.certPem, 0o644);
    return { caPem: ca.certPem, caKeyPem: ca.keyPem, caFile, caKeyFile };
  }
  if (caPem === null || caKeyPem === null) {
    const [present, missing] = caPem === null ? [caKeyFile, caFile] : [caFile, caKeyFile];
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `kubegate's CA is incomplete: ${present} exists but ${missing} does not. Restore ${missing}, or delete ${present} to create a new CA (every client certificate and kubeconfig issued by the old one then stops working).`,
    );
  }
  if (!isCaPair(caPem, caKeyPem)) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `kubegate's CA in ${dir} is damaged: ${caFile} is not a CA certificate matching ${caKeyFile}. Restore both from a backup, or delete both to create a new CA.`,
    );
  }
  return { caPem, caKeyPem, caFile, caKeyFile };
}

/**
 * The CA and a serving certificate for `hosts` (the names and addresses clients dial; localhost
 * and 127.0.0.1 are always added). Reuses what is on disk when it still fits.
 */
export async function ensureGatewayPki(dataDir: string, hosts: readonly string[]): Promise<GatewayPki> {
  const ca = await ensureGatewayCa(dataDir);
  const dir = dirname(ca.caFile);
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  const names = subjectAltNames(hosts);
  const [certPem, keyPem] = await Promise.all([readIfPresent(certFile), readIfPresent(keyFile)]);
  if (certPem !== null && keyPem !== null && servingCertFits(certPem, keyPem, ca.caPem, names, Date.now())) {
    return { caPem: ca.caPem, caKeyPem: ca.caKeyPem, certPem, keyPem, caFile: ca.caFile, certFile, keyFile };
  }
  const serving = await issueCertificate(
    { certPem: ca.caPem, keyPem: ca.caKeyPem },
    {
      commonName: 'kubegate',
      dnsNames: names.dns,
      ipAddresses: names.ips,
      usage: 'server',
      validityDays: SERVING_VALIDITY_DAYS,
    },
  );
  await writeFileAtomic(keyFile, serving.keyPem, 0o600);
  await writeFileAtomic(certFile, serving.certPem, 0o644);
  return {
    caPem: ca.caPem,
    caKeyPem: ca.caKeyPem,
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    caFile: ca.caFile,
    certFile,
    keyFile,
  };
}

interface SubjectAltNames {
  readonly dns: readonly string[];
  readonly ips: readonly string[];
}

function subjectAltNames(hosts: readonly string[]): SubjectAltNames {
  const dns = new Set<string>(['localhost']);
  const ips = new Set<string>(['127.0.0.1']);
  for (const raw of hosts) {
    const host = raw.trim().replace(/^\[(.*)\]$/u, '$1');
    if (host === '') continue;
    if (isIP(host) !== 0) ips.add(host.toLowerCase());
    else if (DNS_NAME.test(host.toLowerCase())) dns.add(host.toLowerCase());
    else {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `${JSON.stringify(raw)} is neither a host name nor an IP address, so it cannot go in the gateway's serving certificate`,
      );
    }
  }
  return { dns: [...dns], ips: [...ips] };
}

/** Issued by our CA, with its key, naming exactly `names`, and not about to expire. */
function servingCertFits(
  certPem: string,
  keyPem: string,
  caPem: string,
  names: SubjectAltNames,
  now: number,
): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return false;
    if (Date.parse(cert.validTo) - now < SERVING_RENEW_BEFORE_DAYS * DAY_MS) return false;
    // Node prints SANs as "DNS:a, IP Address:b" (IPv6 expanded), so compare by matching each
    // wanted name and counting, rather than by text.
    const entries = (cert.subjectAltName ?? '').split(', ').filter((e) => e !== '');
    if (entries.length !== names.dns.length + names.ips.length) return false;
    const opts = { subject: 'never', wildcards: false } as const;
    return (
      names.dns.every((name) => cert.checkHost(name, opts) !== undefined) &&
      names.ips.every((ip) => cert.checkIP(ip) !== undefined)
    );
  } catch {
    return false; // unreadable: replace it (it is ours to replace)
  }
}

function isCaPair(certPem: string, keyPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    return cert.ca && cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

async function pkiDir(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'pki');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new KubegateError('KG_CONFIG_INVALID', `kubegate cannot create its PKI folder ${dir}`, {
      cause: err,
    });
  }
  return dir;
}

async function readIfPresent(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KubegateError('KG_CONFIG_INVALID', `kubegate cannot read ${file}`, { cause: err });
  }
}
