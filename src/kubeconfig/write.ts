// Writes kubeconfig files: for kubegate users (client certificate or token, pointing at the
// gateway; or an exec credential plugin, `kubegate login`, for people who sign in with their
// identity provider) and for the test bed's control plane. Credentials are embedded, so files are
// 0600 (an exec user's file holds none, and is 0600 all the same).
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export type KubeconfigCredential =
  | { readonly token: string }
  | { readonly clientCertificatePem: string; readonly clientKeyPem: string }
  | { readonly exec: ExecPlugin };

/**
 * A credential plugin kubectl runs before its requests (client.authentication.k8s.io/v1, which
 * kubectl speaks since 1.22; 1.27 is the oldest kubegate supports): it prints an ExecCredential.
 */
export interface ExecPlugin {
  /** An absolute path, or a name kubectl looks up on PATH. */
  readonly command: string;
  readonly args: readonly string[];
  /** What kubectl prints when `command` cannot be found. */
  readonly installHint: string;
}

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
      : 'exec' in spec.credential
        ? { exec: execUser(spec.credential.exec) }
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

function execUser(plugin: ExecPlugin): Record<string, unknown> {
  return {
    apiVersion: 'client.authentication.k8s.io/v1',
    command: plugin.command,
    args: [...plugin.args],
    // The sign-in needs no stdin (the browser or the printed URL does it); kubectl still gives the
    // plugin its terminal when it has one, and runs it without one (scripts, CI) all the same.
    interactiveMode: 'IfAvailable',
    // The plugin signs in to the identity provider, not the cluster: it needs no cluster data.
    provideClusterInfo: false,
    installHint: plugin.installHint,
  };
}

export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<void> {
  await writeFile(path, renderKubeconfig(spec), { mode: 0o600 });
}
