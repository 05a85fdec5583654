// The composition root: builds the real deps of every stage from the config and starts the
// listener. The only place that knows which implementation backs each seam.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { createLogger, type Logger } from './log.js';
import { ensureGatewayPki } from './identity/gateway-pki.js';
import { createIdentify, GATEWAY_MISSING } from './identity/identify.js';
import { gatewayAuthenticators } from './identity/authenticators.js';
import { TokenStore } from './identity/tokens.js';
import { createOidc, type Oidc } from './identity/oidc.js';
import { upstreamFromKubeconfig, upstreamInCluster, type UpstreamTarget } from './kubeconfig/read.js';
import { createUpstream } from './upstream/pool.js';
import { createLiveObjects, type LiveObjects } from './upstream/live-objects.js';
import { createGatewayServer } from './gateway/server.js';
import type { GatewayDeps } from './gateway/pipeline.js';
import type { Decision } from './policy/decision.js';
import { createDecide } from './policy/decide.js';
import { PolicyStore } from './policy/reload.js';
import { openApprovals } from './approvals/service.js';
import { buildReviewerContext } from './approvals/context.js';
import { createNotifier } from './approvals/notify.js';
import { createReviewerApi } from './web/approvals-api.js';
import { createAuditApi } from './web/audit-api.js';
import { createChainVerifier } from './audit/verifier.js';
import { HEAD_LOG_FIELD, HEAD_LOG_MESSAGE } from './audit/head.js';
import { startHeadPublisher } from './audit/head-publisher.js';
import { openAuditSinks } from './audit/sinks/open-sinks.js';
import { createPolicyApi, type PolicySource } from './web/policy-api.js';
import { createUiAssets } from './web/assets.js';
import { createOidcSignIn, readSignInIssuers } from './web/oidc-sign-in.js';
import { createOwnApi } from './web/own-api.js';
import { openSlack } from './slack/open.js';
import { Sessions } from './web/session.js';
import { openStore } from './store/open.js';
import { storeProbe } from './store/probe.js';
import { observedTrail } from './metrics/audit-observer.js';
import { Metrics } from './metrics/metrics.js';
import { startMetricsServer } from './metrics/server.js';
import { passedWithin, Readiness } from './health/readiness.js';
import { probeUpstream } from './upstream/probe.js';
import { SIGN_IN_AGAIN, sessionAuthenticator } from './web/session-authenticator.js';
import { packageRoot } from './package-root.js';
import { approvedWarning, holdRefusal, warningHeaderValue } from './approvals/messages.js';
import { describeFailure, KubegateError } from './errors.js';

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
/** A readiness check that takes longer than this fails (the probe itself answers at once). */
const HEALTH_CHECK_TIMEOUT_MS = 3_000;

interface PolicyDecide {
  readonly decide: GatewayDeps['decide'];
  /** The store behind it, for the policy view; null without a policy file. */
  readonly source: PolicySource | null;
  /** Readiness: null once a policy is in force, else why not. */
  loaded(): Promise<string | null>;
  reload(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The decide stage: the policy file, hot-reloaded (file watch; reload() on SIGHUP), with live
 * objects read as kubegate itself. A file that does not load at startup leaves the store's
 * fail-closed policy (every request refused) until it is fixed. No policy file: allow all.
 */
async function policyDecide(
  config: Config,
  objects: LiveObjects,
  log: Logger,
  metrics: Metrics | null,
): Promise<PolicyDecide> {
  const file = config.policy.file;
  if (file === undefined) {
    log.warn('no policy configured (policy.file): every request that RBAC allows goes through');
    return {
      decide: () => ALLOW_ALL,
      source: null,
      loaded: () => Promise.resolve(null),
      reload: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }
  const store = new PolicyStore({ file });
  store.on('loaded', (policy) => {
    metrics?.policyReloads.inc({ result: 'loaded' });
    log.info({ file, rules: policy.rules.length }, 'policy loaded');
  });
  store.on('failed', (error) => {
    metrics?.policyReloads.inc({ result: 'failed' });
    const { failures, failClosed } = store.stats();
    if (failClosed)
      log.error({ file, failures, issues: error.message }, 'policy failed to load; refusing every request');
    else
      log.warn({ file, failures, issues: error.message }, 'policy reload failed; the last good policy stays');
  });
  await store.start();
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
    source: store,
    loaded: () =>
      Promise.resolve(
        store.stats().failClosed ? `the policy ${file} has not loaded: every request is refused` : null,
      ),
    reload: async () => {
      await store.reload();
    },
    close: () => {
      store.close();
      return Promise.resolve();
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

/**
 * The OIDC authenticator over identity.oidc's issuers (null when none is configured). Their CA
 * files are read now (a missing one stops the start); the providers are asked in the background,
 * so kubegate starts while one is down and refuses its tokens until it answers.
 */
async function oidcAuthentication(
  config: Config,
  log: Logger,
  metrics: Metrics | null,
): Promise<Oidc | null> {
  if (config.identity.oidc.length === 0) return null;
  const issuers = await Promise.all(
    config.identity.oidc.map(async (issuer, index) => {
      if (issuer.caFile === undefined) return issuer;
      try {
        return { ...issuer, caPem: await readFile(issuer.caFile, 'utf8') };
      } catch (err) {
        throw new KubegateError(
          'KG_CONFIG_INVALID',
          `identity.oidc[${index}].caFile: ${issuer.caFile} cannot be read (${describeFailure(err, 'unreadable')})`,
          { cause: err },
        );
      }
    }),
  );
  const { onBehalfOfClaim } = config.identity.agents;
  const oidc = createOidc(
    onBehalfOfClaim === undefined ? issuers : issuers.map((i) => ({ ...i, onBehalfOfClaim })),
    {
      log,
      ...(metrics === null
        ? {}
        : { onFetch: (ok: boolean) => metrics.oidcRefreshes.inc({ result: ok ? 'ok' : 'failed' }) }),
    },
  );
  oidc.start();
  return oidc;
}

async function servingTls(config: Config): Promise<{ certPem: string; keyPem: string; clientCaPem: string }> {
  const pki = await ensureGatewayPki(config.dataDir, [config.listen.host, ...config.tls.hosts]);
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
  // Prometheus metrics (metrics.listen): what this replica does; the pending gauge reads the store.
  const metrics =
    config.metrics.listen === undefined
      ? null
      : new Metrics({ pendingNow: () => approvals.list({ state: 'pending' }) });
  // Copies of the trail as it is committed (audit.sinks); opened first, so a bad path stops the start.
  const sinks = openAuditSinks(config.audit.sinks, log, { dataDir: config.dataDir });
  // A store that fails to open must not leave the sinks' files and timers behind.
  const store = await openStore(config.store, {
    ...(sinks.onCommitted === null ? {} : { onAuditCommitted: sinks.onCommitted }),
    // Kept in the log, so a record the store could not take is never lost silently.
    onAuditError: (err, lost, events) => {
      if (lost > 0) metrics?.auditFailures.inc({ mode: 'batched' }, lost);
      log.error(
        { err, lost, unrecordedAuditEvents: events.map((text) => JSON.parse(text) as unknown) },
        'audit events could not be written to the store; they are kept in this log line',
      );
    },
    onChangesError: (err) =>
      log.warn({ err }, "other replicas' approval changes cannot be heard; reconnecting to the store"),
  }).catch(async (err: unknown) => {
    await sinks.close();
    throw err;
  });
  // Every record this replica writes counts in the metrics: the request counts are the trail's.
  const audit = metrics === null ? store.audit : observedTrail(store.audit, metrics);
  // The chain's head, outside the database: a cut tail shows against a copy (audit/head.ts).
  const heads = startHeadPublisher({
    head: () => store.auditReader.head(),
    publish: (head) => log.info({ [HEAD_LOG_FIELD]: head }, HEAD_LOG_MESSAGE),
    onError: (err) => log.warn({ err }, 'audit chain head could not be read; retrying at the next interval'),
    now: () => new Date(),
    intervalMs: config.audit.headIntervalMs,
  });
  const objects = createLiveObjects(upstream, { ttlMs: LIVE_OBJECT_TTL_MS, now: Date.now, log });
  const policy = await policyDecide(config, objects, log, metrics);
  const publicUrl = config.publicUrl ?? null;
  // Approve/Deny from Slack (config `slack`): buttons on the Slack messages, and their endpoint.
  const slack =
    config.slack === undefined
      ? null
      : await openSlack(config.slack, { publicUrl, log, now: () => new Date() });
  const notify = createNotifier({
    webhooks: config.notifications.webhooks,
    publicUrl,
    ...(slack === null ? {} : { slack: slack.message }),
    log,
    ...(metrics === null ? {} : { onDelivery: (result) => metrics.webhookDeliveries.inc({ result }) }),
  });
  const approvals = await openApprovals({
    store: store.approvals,
    ...(store.reasons === undefined ? {} : { reasons: store.reasons }),
    audit,
    now: () => new Date(),
    holdTimeoutMs: config.approvals.holdTimeoutMs,
    pendingExpiryMs: config.approvals.pendingExpiryMs === 0 ? null : config.approvals.pendingExpiryMs,
    context: (_pending, input) =>
      buildReviewerContext(
        { upstream, liveObjects: objects, timeoutMs: config.approvals.contextTimeoutMs },
        input,
      ),
    // Only this replica's own events (others' are heard, not made here): counted once in the group.
    notify:
      metrics === null
        ? notify
        : (event) => {
            notify(event);
            metrics.approval(event);
          },
    log,
  });
  // One list of authenticators, and kubegate's own API's with the web session after it.
  const oidc = await oidcAuthentication(config, log, metrics);
  const authenticators = gatewayAuthenticators(tokens, oidc?.authenticator ?? null, config.identity.agents);
  const sessions = new Sessions(store.sessions, { ttlMs: config.web.sessionTtlMs });
  const oidcIssuers = new Set(config.identity.oidc.map((issuer) => issuer.issuerUrl));
  // The web UI's sign-in through the same providers, its ID tokens checked by the same authenticator.
  const oidcSignIn =
    oidc === null
      ? null
      : createOidcSignIn(await readSignInIssuers(config.identity.oidc), {
          publicUrl,
          verify: (idToken) => oidc.verify(idToken),
          sessions,
          ...(store.signInFlows === undefined ? {} : { flows: store.signInFlows }),
          log,
        });
  // Probes: what must hold for this replica to take requests (/kubegate/readyz).
  const readiness = new Readiness(
    [
      { name: 'policy', run: () => policy.loaded() },
      { name: 'store', run: storeProbe(config.store, HEALTH_CHECK_TIMEOUT_MS) },
      passedWithin(config.health.upstreamGraceMs, {
        name: 'upstream',
        run: () => probeUpstream(upstream, HEALTH_CHECK_TIMEOUT_MS),
      }),
    ],
    { intervalMs: config.health.intervalMs, timeoutMs: HEALTH_CHECK_TIMEOUT_MS },
  );
  await readiness.start();
  const ownApi = createOwnApi({
    identify: createIdentify([...authenticators, sessionAuthenticator(sessions, tokens, oidcIssuers)], {
      missing: `no client certificate, bearer token or web session. ${SIGN_IN_AGAIN}`,
    }),
    tokens,
    sessions,
    sessionTtlMs: config.web.sessionTtlMs,
    reviewer: createReviewerApi({
      approvals,
      publicUrl,
      log,
      ...(store.reasons === undefined ? {} : { reasons: store.reasons }),
    }),
    slack: slack?.serve(approvals) ?? null,
    audit: createAuditApi({
      reader: store.auditReader,
      verifier: createChainVerifier({ verify: () => store.auditReader.verify() }),
      readers: config.audit.readers,
    }),
    policy: createPolicyApi({ policy: policy.source, now: () => new Date() }),
    oidcSignIn,
    assets: createUiAssets(join(packageRoot(import.meta.dirname), 'dist', 'ui')),
    health: readiness,
    log,
  });
  const deps: GatewayDeps = {
    identify: createIdentify(authenticators, { missing: GATEWAY_MISSING }),
    decide: policy.decide,
    async hold(input) {
      const outcome = await approvals.hold(input);
      const refusal = holdRefusal(outcome, new Date(), {
        publicUrl,
        holdTimeoutMs: config.approvals.holdTimeoutMs,
      });
      if (refusal !== null) throw refusal;
      // kubectl prints it: "Warning: approved by bob, carol after 2m13s (kg-…)".
      return outcome.kind === 'proceed'
        ? { warning: warningHeaderValue(approvedWarning(outcome.pending, outcome.viaGrant)) }
        : { warning: null };
    },
    ownApi,
    upstream,
    audit,
    log,
    maxBodyBytes: config.limits.maxBodyBytes,
    now: () => new Date(),
    ...(metrics === null ? {} : { observe: metrics }),
  };
  const gateway = createGatewayServer(tls, deps, config.timeouts.clientIdleMs);
  const server = gateway.server;
  server.listen(config.listen.port, config.listen.host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `https://${host}:${address.port}`;
  const metricsServer =
    metrics === null || config.metrics.listen === undefined
      ? null
      : await startMetricsServer(metrics.registry, config.metrics.listen, log);
  log.info({ url, upstream: upstream.origin, metrics: metricsServer?.url ?? null }, 'kubegate listening');
  return {
    url,
    server,
    log,
    reloadPolicy: () => policy.reload(),
    async close() {
      ownApi.close(); // open watches would hold the listener open
      readiness.close();
      await metricsServer?.close();
      await gateway.close();
      await approvals.close();
      await notify.close();
      await policy.close();
      await objects.close(); // ends the live-object watches, which would hold the pool open
      await upstream.close();
      await oidc?.close();
      await audit.close(); // writes the last batch, so that the last head published covers it
      await heads.stop();
      await store.close();
      await sinks.close(); // after the store: its last batch was handed to the sinks
      log.flush();
    },
  };
}
