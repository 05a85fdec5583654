// The composition root: builds the real deps of every stage from the config and starts the
// listener. The only place that knows which implementation backs each seam.
import { mkdir, readFile } from 'node:fs/promises';
import { once } from 'node:events';
import type { Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { createLogger, type Logger } from './log.js';
import { ensureGatewayPki } from './identity/gateway-pki.js';
import { identify } from './identity/identify.js';
import { TokenStore } from './identity/tokens.js';
import { upstreamFromKubeconfig, upstreamInCluster, type UpstreamTarget } from './kubeconfig/read.js';
import { createUpstream } from './upstream/pool.js';
import { jsonlSink } from './audit/jsonl-sink.js';
import { createGatewayServer } from './gateway/server.js';
import type { GatewayDeps } from './gateway/pipeline.js';
import type { Decision } from './policy/decision.js';
import { refuseForApproval } from './approvals/unavailable.js';
import { KubegateError } from './errors.js';

export interface RunningGateway {
  readonly url: string;
  readonly server: Http2SecureServer;
  readonly log: Logger;
  close(): Promise<void>;
}

const ALLOW_ALL: Decision = { kind: 'allow', rules: [], byDefault: true };

async function upstreamTarget(config: Config): Promise<UpstreamTarget> {
  if (config.upstream.inCluster) return upstreamInCluster();
  if (config.upstream.kubeconfig === undefined) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      'upstream: set upstream.kubeconfig (and optionally upstream.context) or upstream.inCluster: true',
    );
  }
  return upstreamFromKubeconfig(config.upstream.kubeconfig, config.upstream.context);
}

async function servingTls(config: Config): Promise<{ certPem: string; keyPem: string; clientCaPem: string }> {
  const pki = await ensureGatewayPki(config.dataDir, [config.listen.host]);
  const certPem = config.tls.certFile ? await readFile(config.tls.certFile, 'utf8') : pki.certPem;
  const keyPem = config.tls.keyFile ? await readFile(config.tls.keyFile, 'utf8') : pki.keyPem;
  const clientCaPem = config.tls.clientCAFile ? await readFile(config.tls.clientCAFile, 'utf8') : pki.caPem;
  return { certPem, keyPem, clientCaPem };
}

export async function startGateway(config: Config): Promise<RunningGateway> {
  const log = createLogger(config.log.level);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const tls = await servingTls(config);
  const upstream = createUpstream(await upstreamTarget(config), config.timeouts);
  const tokens = await TokenStore.open(config.dataDir);
  const audit = jsonlSink(config.audit.file);
  const deps: GatewayDeps = {
    identify: (credentials) => identify(credentials, { tokens }),
    decide: () => ALLOW_ALL,
    hold: refuseForApproval,
    upstream,
    audit,
    log,
    maxBodyBytes: config.limits.maxBodyBytes,
  };
  const gateway = createGatewayServer(tls, deps);
  const server = gateway.server;
  server.listen(config.listen.port, config.listen.host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `https://${host}:${address.port}`;
  log.info({ url, upstream: upstream.origin }, 'kubegate listening');
  return {
    url,
    server,
    log,
    async close() {
      await gateway.close();
      await upstream.close();
      await audit.close();
      log.flush();
    },
  };
}
