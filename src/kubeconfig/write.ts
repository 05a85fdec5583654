// Writes kubeconfig files: for kubegate users (client certificate or token, pointing at the
// gateway) and for the test bed's control plane. Credentials are embedded, so files are 0600.
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export type KubeconfigCredential =
  { readonly token: string } | { readonly clientCertificatePem: string; readonly clientKeyPem: string };

export interface KubeconfigSpec {
  readonly clusterName: string;
  readonly server: string;
  readonly caPem: string;
  readonly userName: string;
  readonly credential: KubeconfigCredential;
  readonly namespace?: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** The kubeconfig document for one cluster, one user and one context named after the cluster. */
export function renderKubeconfig(spec: KubeconfigSpec): string {
  const user =
    'token' in spec.credential
      ? { token: spec.credential.token }
      : {
          'client-certificate-data': b64(spec.credential.clientCertificatePem),
          'client-key-data': b64(spec.credential.clientKeyPem),
        };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: spec.clusterName,
        cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caPem) },
      },
    ],
    users: [{ name: spec.userName, user }],
    contexts: [
      {
        name: spec.clusterName,
        context: {
          cluster: spec.clusterName,
          user: spec.userName,
          ...(spec.namespace ? { namespace: spec.namespace } : {}),
        },
      },
    ],
    'current-context': spec.clusterName,
    preferences: {},
  });
}

export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<void> {
  await writeFile(path, renderKubeconfig(spec), { mode: 0o600 });
}
