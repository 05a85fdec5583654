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
import { createUpstream, type Upstream } from './upstream/pool.js';
import { createLiveObjects } from './upstream/live-objects.js';
import { jsonlSink } from './audit/jsonl-sink.js';
import { createGatewayServer } from './gateway/server.js';
import type { GatewayDeps } from './gateway/pipeline.js';
import type { Decision } from './policy/decision.js';
import { createDecide } from './policy/decide.js';
import { PolicyStore } from './policy/reload.js';
import { refuseForApproval } from './approvals/unavailable.js';
import { KubegateError } from './errors.js';

export interface RunningGateway {
  readonly url: string;
  readonly server: Http2SecureServer;
  readonly log: Logger;
  /** Re-reads the policy file now (SIGHUP); a broken file keeps the last good policy. */
  reloadPolicy(): Promise<void>;
  close(): Promise<void>;
}

const ALLOW_ALL: Decision = { kind: 'allow', rules: [], byDefault: true };

/** How long a cached live object may be served; its watch keeps it fresh meanwhile. */
const LIVE_OBJECT_TTL_MS = 60_000;
/** How long decide waits for a live object before judging without it (the strict outcome). */
const LIVE_OBJECT_TIMEOUT_MS = 3_000;

interface PolicyDecide {
  readonly decide: GatewayDeps['decide'];
  reload(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The decide stage: the policy file, hot-reloaded (file watch; reload() on SIGHUP), with live
 * objects read as kubegate itself. A file that does not load at startup leaves the store's
 * fail-closed policy (every request refused) until it is fixed. No policy file: allow all.
 */
async function policyDecide(config: Config, upstream: Upstream, log: Logger): Promise<PolicyDecide> {
  const file = config.policy.file;
  if (file === undefined) {
    log.warn('no policy configured (policy.file): every request that RBAC allows goes through');
    return { decide: () => ALLOW_ALL, reload: () => Promise.resolve(), close: () => Promise.resolve() };
  }
  const store = new PolicyStore({ file });
  store.on('loaded', (policy) => log.info({ file, rules: policy.rules.length }, 'policy loaded'));
  store.on('failed', (error) => {
    const { failures, failClosed } = store.stats();
    if (failClosed)
      log.error({ file, failures, issues: error.message }, 'policy failed to load; refusing every request');
    else
      log.warn({ file, failures, issues: error.message }, 'policy reload failed; the last good policy stays');
  });
  await store.start();
  const objects = createLiveObjects(upstream, { ttlMs: LIVE_OBJECT_TTL_MS, now: Date.now, log });
  const decide = createDecide({
    policy: () => store.current(),
    objects,
    now: () => new Date(),
    timeoutMs: LIVE_OBJECT_TIMEOUT_MS,
    onLookupError: (err, r) =>
      log.warn(
        { err, resource: r.resource, namespace: r.namespace, name: r.name },
        'live object lookup failed',
      ),
  });
  return {
    decide,
    reload: async () => {
      await store.reload();
    },
    close: async () => {
      store.close();
      await objects.close();
    },
  };
}

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
  const policy = await policyDecide(config, upstream, log);
  const deps: GatewayDeps = {
    identify: (credentials) => identify(credentials, { tokens }),
    decide: policy.decide,
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
    reloadPolicy: () => policy.reload(),
    async close() {
      await gateway.close();
      await policy.close(); // ends the live-object watches, which would hold the pool open
      await upstream.close();
      await audit.close();
      log.flush();
    },
  };
}
