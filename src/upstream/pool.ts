// The connection to the API server: one undici Pool (HTTP/1.1 keep-alive, no connection limit),
// a connection of its own for each watch and logs -f, and the TLS options that upgrades use for
// their own sockets. Upstream TLS is always verified. Only upstream/ reaches the API server.
//
// A watch (or logs -f) holds its connection until it ends, so sharing the pool saves nothing;
// and when such a request in the pool is aborted (the client left), undici 7 opens a fresh
// connection it never uses and leaves idle until the API server closes it 90 s later
// (nodejs/undici#5845): 5,000 watches ending together cost 5,000 handshakes and kept 5,000
// connections for 40 s and more.
//
// One TLS context serves every upstream connection: given the PEM text instead, each new
// connection parses the CA and the client key again (measured with bench/watch: about 0.8 ms of
// CPU and 17 KiB per connection, and a watch holds one).
import { Client, Pool } from 'undici';
import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { describeFailure, KubegateError } from '../errors.js';
import type { UpstreamTarget } from '../kubeconfig/read.js';

export interface UpstreamTimeouts {
  readonly upstreamConnectMs: number;
  readonly upstreamHeadersMs: number;
}

export interface Upstream {
  /** https://host:port of the API server. */
  readonly origin: string;
  /** Path prefix of the server URL ('' for most clusters; some proxies serve under a path). */
  readonly pathPrefix: string;
  readonly pool: Pool;
  /** A new connection for one watch or logs -f; the caller destroys it when the stream ends. */
  ownConnection(): Client;
  /** Options for a raw TLS connection to the API server (upgrades). */
  readonly tls: ConnectionOptions & { readonly host: string; readonly port: number };
  /** kubegate's own Authorization header value, when it authenticates with a token. */
  authorization(): string | null;
  close(): Promise<void>;
}

/** The TLS context of every upstream connection; KG_CONFIG_INVALID when the kubeconfig's PEM cannot be used. */
function upstreamContext(target: UpstreamTarget): SecureContext {
  try {
    return createSecureContext({
      ...(target.caPem !== null ? { ca: target.caPem } : {}),
      ...(target.auth.kind === 'client-certificate'
        ? { cert: target.auth.certPem, key: target.auth.keyPem }
        : {}),
    });
  } catch (err) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `kubegate cannot use the TLS certificates of its upstream kubeconfig (${describeFailure(err, 'unreadable')}): check its certificate-authority-data and, for a client certificate, that the certificate and key belong together`,
      { cause: err },
    );
  }
}

export function createUpstream(target: UpstreamTarget, timeouts: UpstreamTimeouts): Upstream {
  const url = new URL(target.server); // the operator's config, not a client's request target
  if (url.protocol !== 'https:') {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `kubegate's upstream server must be an https:// URL, not ${target.server}: kubegate never talks to the API server without TLS`,
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 443 : Number(url.port);
  const tls: ConnectionOptions & { host: string; port: number } = {
    host,
    port,
    rejectUnauthorized: true,
    // Without a CA in the kubeconfig, the context trusts Node's default roots, as tls.connect does.
    secureContext: upstreamContext(target),
    ...(target.tlsServerName !== null ? { servername: target.tlsServerName } : {}),
  };
  const options = {
    pipelining: 1,
    connectTimeout: timeouts.upstreamConnectMs,
    headersTimeout: timeouts.upstreamHeadersMs,
    // Watches and `logs -f` may stay silent for minutes: the API server ends them, not us.
    bodyTimeout: 0,
    keepAliveTimeout: 30_000,
    connect: { ...tls, ALPNProtocols: ['http/1.1'] },
  };
  const pool = new Pool(url.origin, { ...options, connections: null });
  const auth = target.auth;
  return {
    origin: url.origin,
    pathPrefix: url.pathname.replace(/\/+$/, ''),
    pool,
    ownConnection: () => new Client(url.origin, options),
    tls,
    authorization: auth.kind === 'token' ? () => `Bearer ${auth.token()}` : () => null,
    close: () => pool.close(),
  };
}
