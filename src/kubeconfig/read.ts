// Reading kubegate's OWN upstream identity: a kubeconfig (path + context) or the pod's service
// account → UpstreamTarget, the address, trust and credential that upstream/ uses to reach the
// API server. Runs once at startup (config → here → upstream/); the token re-reads below are the
// only I/O after that. Must never weaken TLS (insecure-skip-tls-verify and plain http are
// refused, not ignored), never silently drop a setting it cannot honour (exec and auth-provider
// plugins, basic auth, impersonation, proxy-url: refused with what to use instead), and never
// put a credential in a message.
//
// Paths in a kubeconfig resolve against the kubeconfig's folder, as kubectl does. Where kubectl
// itself refuses an ambiguity (certificate-authority and -data both set, etc.), so do we.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KubegateError } from '../errors.js';

export type UpstreamAuth =
  | {
      readonly kind: 'token';
      /** The current token; re-read from its file at most every TOKEN_REREAD_MS. Never throws. */
      token(): string;
    }
  | { readonly kind: 'client-certificate'; readonly certPem: string; readonly keyPem: string }
  | { readonly kind: 'none' };

export interface UpstreamTarget {
  /** https origin, no trailing slash: `https://10.0.0.1:6443`. */
  readonly server: string;
  /** PEM bundle to trust; null = the system CAs. */
  readonly caPem: string | null;
  /** SNI and the name the certificate must carry, when not the server's host. */
  readonly tlsServerName: string | null;
  readonly auth: UpstreamAuth;
}

export interface ReadOptions {
  /** Clock for the token re-read interval; default Date.now. */
  readonly now?: () => number;
}

/**
 * Token files change under a running kubegate: bound service account tokens are rotated by the
 * kubelet (hourly by default; the old one stays valid for a while), and client-go re-reads its
 * token file on the same one-minute period.
 */
export const TOKEN_REREAD_MS = 60_000;

export const SERVICE_ACCOUNT_ROOT = '/var/run/secrets/kubernetes.io/serviceaccount';

const KubeconfigSchema = z.looseObject({
  'current-context': z.string().nullish(),
  clusters: z
    .array(
      z.looseObject({
        name: z.string(),
        cluster: z.looseObject({
          server: z.string().nullish(),
          'certificate-authority': z.string().nullish(),
          'certificate-authority-data': z.string().nullish(),
          'insecure-skip-tls-verify': z.boolean().nullish(),
          'tls-server-name': z.string().nullish(),
          'proxy-url': z.string().nullish(),
        }),
      }),
    )
    .nullish(),
  users: z
    .array(
      z.looseObject({
        name: z.string(),
        user: z
          .looseObject({
            token: z.string().nullish(),
            tokenFile: z.string().nullish(),
            'client-certificate': z.string().nullish(),
            'client-certificate-data': z.string().nullish(),
            'client-key': z.string().nullish(),
            'client-key-data': z.string().nullish(),
            exec: z.looseObject({ command: z.string().nullish() }).nullish(),
            'auth-provider': z.looseObject({ name: z.string().nullish() }).nullish(),
            username: z.string().nullish(),
            password: z.string().nullish(),
            as: z.string().nullish(),
            'as-uid': z.string().nullish(),
            'as-groups': z.array(z.string()).nullish(),
            'as-user-extra': z.unknown().optional(),
          })
          .nullish(),
      }),
    )
    .nullish(),
  contexts: z
    .array(
      z.looseObject({ name: z.string(), context: z.looseObject({ cluster: z.string(), user: z.string() }) }),
    )
    .nullish(),
});

type Kubeconfig = z.infer<typeof KubeconfigSchema>;
type UserEntry = NonNullable<NonNullable<Kubeconfig['users']>[number]['user']>;

const invalid = (message: string, cause?: unknown): KubegateError =>
  new KubegateError('KG_CONFIG_INVALID', message, cause === undefined ? undefined : { cause });

/** The API server, trust and credential named by `context` (default: current-context) in `path`. */
export async function upstreamFromKubeconfig(
  path: string,
  context?: string,
  options: ReadOptions = {},
): Promise<UpstreamTarget> {
  const where = `upstream kubeconfig ${path}`;
  const config = parseKubeconfig(await readText(path, 'upstream kubeconfig'), where);
  const folder = dirname(resolve(path));

  const contextName = context ?? config['current-context'] ?? '';
  const contexts = config.contexts ?? [];
  if (contextName === '') {
    throw invalid(
      `${where} has no current-context; name one with upstream.context (contexts: ${names(contexts)})`,
    );
  }
  const ctx = findOne(contexts, contextName, 'context', where).context;
  const cluster = findOne(config.clusters ?? [], ctx.cluster, 'cluster', where).cluster;
  const user = findOne(config.users ?? [], ctx.user, 'user', where).user ?? {};

  const clusterWhere = `cluster "${ctx.cluster}" in ${where}`;
  if (cluster['insecure-skip-tls-verify'] === true) {
    throw invalid(
      `${clusterWhere} sets insecure-skip-tls-verify: true, but kubegate always verifies the API server's certificate. Remove it and give certificate-authority or certificate-authority-data (or nothing, to trust the system CAs).`,
    );
  }
  if (cluster['proxy-url']) {
    throw invalid(
      `${clusterWhere} sets proxy-url, which kubegate does not support: it connects to the API server directly.`,
    );
  }
  const caPem = await pemSource(cluster, 'certificate-authority', folder, clusterWhere);
  if (caPem !== null) checkCertificate(caPem, `${clusterWhere}: certificate-authority`);
  return {
    server: httpsOrigin(cluster.server ?? '', clusterWhere),
    caPem,
    tlsServerName: cluster['tls-server-name'] || null,
    auth: await userAuth(user, folder, `user "${ctx.user}" in ${where}`, options.now ?? Date.now),
  };
}

/**
 * The pod's own service account, as client-go's InClusterConfig reads it: the API server at
 * KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT, trusted through `<root>/ca.crt`, with the
 * bound token in `<root>/token`.
 */
export async function upstreamInCluster(
  env: NodeJS.ProcessEnv = process.env,
  root: string = SERVICE_ACCOUNT_ROOT,
  options: ReadOptions = {},
): Promise<UpstreamTarget> {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  if (host === '' || port === '') {
    throw invalid(
      'upstream.inCluster is set, but KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not: kubegate is not running in a Kubernetes pod. Use upstream.kubeconfig instead.',
    );
  }
  if (!/^\d{1,5}$/u.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw invalid(`KUBERNETES_SERVICE_PORT is ${JSON.stringify(port)}, not a port number`);
  }
  const caFile = join(root, 'ca.crt');
  const caPem = await readText(caFile, "the service account's CA certificate");
  checkCertificate(caPem, `the service account's CA certificate ${caFile}`);
  const authority = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return {
    server: httpsOrigin(`https://${authority}`, 'the in-cluster API server'),
    caPem,
    tlsServerName: null,
    auth: await tokenFromFile(join(root, 'token'), "the service account's token", options.now ?? Date.now),
  };
}

async function userAuth(
  user: UserEntry,
  folder: string,
  where: string,
  now: () => number,
): Promise<UpstreamAuth> {
  const instead = "Give kubegate's identity a token (token or tokenFile) or a client certificate instead.";
  if (user.exec) {
    throw invalid(
      `${where} uses an exec credential plugin (${user.exec.command ?? 'no command'}), which kubegate does not support. ${instead}`,
    );
  }
  if (user['auth-provider']) {
    throw invalid(
      `${where} uses the auth-provider plugin ${JSON.stringify(user['auth-provider'].name ?? '')}, which kubegate does not support. ${instead}`,
    );
  }
  if (user.username || user.password) {
    throw invalid(
      `${where} uses basic authentication (username/password), which Kubernetes no longer supports. ${instead}`,
    );
  }
  if (user.as || user['as-uid'] || (user['as-groups'] ?? []).length > 0 || user['as-user-extra'] != null) {
    throw invalid(
      `${where} impersonates someone (as, as-groups, as-uid or as-user-extra), but kubegate impersonates each caller itself. Remove them.`,
    );
  }
  const hasToken = Boolean(user.token) || Boolean(user.tokenFile);
  const hasCert = [
    user['client-certificate'],
    user['client-certificate-data'],
    user['client-key'],
    user['client-key-data'],
  ].some(Boolean);
  if (hasToken && hasCert) {
    throw invalid(
      `${where} has both a token and a client certificate; keep one, so that it is clear who kubegate is.`,
    );
  }
  if (user.token && user.tokenFile) {
    throw invalid(`${where} sets both token and tokenFile; keep one.`);
  }
  if (user.token) {
    const token = user.token;
    return { kind: 'token', token: () => token };
  }
  if (user.tokenFile) {
    return tokenFromFile(resolve(folder, user.tokenFile), `${where}: tokenFile`, now);
  }
  if (hasCert) {
    const certPem = await pemSource(user, 'client-certificate', folder, where);
    const keyPem = await pemSource(user, 'client-key', folder, where);
    if (certPem === null || keyPem === null) {
      throw invalid(
        `${where} has a client ${certPem === null ? 'key without its certificate' : 'certificate without its key'}.`,
      );
    }
    const cert = checkCertificate(certPem, `${where}: client-certificate`);
    let key;
    try {
      key = createPrivateKey(keyPem);
    } catch (err) {
      throw invalid(`${where}: client-key is not a PEM private key`, err);
    }
    if (!cert.checkPrivateKey(key)) {
      throw invalid(`${where}: client-key does not belong to client-certificate`);
    }
    return { kind: 'client-certificate', certPem, keyPem };
  }
  return { kind: 'none' };
}

/**
 * A token read from `file` now (startup fails if it is missing or empty), then re-read when
 * older than TOKEN_REREAD_MS. The re-read is synchronous: a small file once a minute, on the
 * call that finds it stale, costs less than a timer with a lifecycle. If a re-read fails or finds
 * the file empty (a rotation in progress), the last token stays in use and the next call after
 * another interval tries again, as client-go's cached token source does.
 */
async function tokenFromFile(file: string, what: string, now: () => number): Promise<UpstreamAuth> {
  let current = (await readText(file, what)).trim();
  if (current === '') throw invalid(`${what} ${file} is empty`);
  let readAt = now();
  return {
    kind: 'token',
    token: () => {
      if (now() - readAt >= TOKEN_REREAD_MS) {
        readAt = now();
        try {
          const next = readFileSync(file, 'utf8').trim();
          if (next !== '') current = next;
        } catch {
          // Keep the last token (see above); the API server's 401 will say if it has expired.
        }
      }
      return current;
    },
  };
}

type PemField = 'certificate-authority' | 'client-certificate' | 'client-key';

/** PEM from `field` (a file, relative to the kubeconfig) or `field-data` (base64); null when neither is set. */
async function pemSource(
  entry: Partial<Record<PemField | `${PemField}-data`, string | null | undefined>>,
  field: PemField,
  folder: string,
  where: string,
): Promise<string | null> {
  const file = entry[field];
  const data = entry[`${field}-data`];
  if (file && data) {
    throw invalid(`${where} sets both ${field} and ${field}-data; keep one (kubectl refuses this too).`);
  }
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  if (file) return readText(resolve(folder, file), `${where}: ${field}`);
  return null;
}

function checkCertificate(pem: string, what: string): X509Certificate {
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new TypeError('no PEM certificate block');
    return new X509Certificate(pem);
  } catch (err) {
    throw invalid(`${what} is not a PEM certificate`, err);
  }
}

/** `https://host[:port]` with nothing after it; anything else is refused. */
function httpsOrigin(server: string, where: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch (err) {
    throw invalid(`${where}: server ${JSON.stringify(server)} is not a URL`, err);
  }
  if (url.protocol !== 'https:') {
    throw invalid(
      `${where}: server ${JSON.stringify(server)} is not https; kubegate talks to the API server only over verified TLS.`,
    );
  }
  if (
    url.username !== '' ||
    url.password !== '' ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw invalid(
      `${where}: server ${JSON.stringify(server)} has a path, query or user; kubegate needs the API server's address alone (https://host:port).`,
    );
  }
  return url.origin;
}

function parseKubeconfig(text: string, where: string): Kubeconfig {
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: true, maxAliasCount: 100 });
  } catch (err) {
    throw invalid(
      `${where} is not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      err,
    );
  }
  const result = KubeconfigSchema.safeParse(value ?? {});
  if (!result.success) {
    const first = result.error.issues[0];
    const at = first
      ? first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')
      : '';
    throw invalid(`${where} is not a kubeconfig: ${at.replace(/^\./u, '')}: ${first?.message ?? 'invalid'}`);
  }
  return result.data;
}

function findOne<T extends { readonly name: string }>(
  entries: readonly T[],
  name: string,
  kind: 'context' | 'cluster' | 'user',
  where: string,
): T {
  const found = entries.filter((e) => e.name === name);
  const [only] = found;
  if (only === undefined) {
    throw invalid(`${kind} ${JSON.stringify(name)} is not in ${where} (${kind}s: ${names(entries)})`);
  }
  if (found.length > 1) throw invalid(`${where} defines ${kind} ${JSON.stringify(name)} more than once`);
  return only;
}

function names(entries: readonly { readonly name: string }[]): string {
  return entries.length === 0 ? 'none' : entries.map((e) => e.name).join(', ');
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable by this user'
          : `cannot be read (${code ?? 'error'})`;
    throw invalid(`${what} ${file} ${why}`, err);
  }
}
