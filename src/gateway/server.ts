// The listener: HTTPS with HTTP/2 and HTTP/1.1 on one port (kubectl uses HTTP/2 for ordinary
// requests and a separate HTTP/1.1 connection for exec, attach and port-forward upgrades).
// Client certificates are requested and verified against kubegate's CA, but not required: the
// pipeline answers a missing or foreign certificate with a 401 Status kubectl can print, rather
// than a TLS failure it cannot.
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { handleRequest, handleUpgrade, type GatewayDeps } from './pipeline.js';
import { closeIdleConnections } from './idle-connections.js';
import { writeStatusToSocket } from './respond.js';
import { KubegateError, type ErrorCode } from '../errors.js';
import type { ClientRequest } from './read-body.js';
import type { ClientResponse } from '../upstream/forward.js';

export interface ServingTls {
  readonly certPem: string;
  readonly keyPem: string;
  /** CA whose client certificates identify users (kubegate's own CA). */
  readonly clientCaPem: string;
}

export interface GatewayServer {
  readonly server: Http2SecureServer;
  /** Stops accepting, and ends open connections (watches, exec sessions would never end). */
  close(): Promise<void>;
}

/** `idleMs`: how long a client connection may carry no request before kubegate closes it. */
export function createGatewayServer(tls: ServingTls, deps: GatewayDeps, idleMs: number): GatewayServer {
  const server = createSecureServer({
    allowHTTP1: true,
    cert: tls.certPem,
    key: tls.keyPem,
    ca: tls.clientCaPem,
    requestCert: true,
    rejectUnauthorized: false,
    settings: { maxConcurrentStreams: 250 },
  });
  server.on('request', (req: ClientRequest, res: ClientResponse) => {
    handleRequest(req, res, deps).catch((err: unknown) =>
      deps.log.error({ err }, 'bug: request handler failed'),
    );
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleUpgrade(req, socket, head, deps).catch((err: unknown) =>
      deps.log.error({ err }, 'bug: upgrade handler failed'),
    );
  });
  // Requests Node's HTTP/1.1 parser refuses before any handler runs (raw control bytes, spaces,
  // non-ASCII in the target, unknown method tokens) and CONNECT still get a Status kubectl can
  // print; nothing of them is forwarded.
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (err.code === 'HPE_INVALID_METHOD') {
      refuseRaw(
        socket,
        'KG_REQUEST_METHOD',
        'kubegate refused the request: its HTTP method is not one the Kubernetes API uses.',
      );
    } else {
      refuseRaw(
        socket,
        'KG_REQUEST_NONCANONICAL',
        `kubegate could not read the HTTP request (${err.code ?? 'parse error'}); it was not forwarded. kubectl never sends such requests; check the client.`,
      );
    }
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    refuseRaw(
      socket,
      'KG_REQUEST_METHOD',
      'kubegate refused a CONNECT request: the Kubernetes API does not use it, and kubegate is not a forward proxy.',
    );
  });
  // Watches, logs -f and exec sessions are long-lived: no inactivity timeout on a request, only
  // on connections that carry none.
  server.setTimeout(0);
  closeIdleConnections(server, idleMs);
  server.on('sessionError', (err) => deps.log.debug({ err }, 'http2 session error'));
  server.on('tlsClientError', (err) => deps.log.debug({ err }, 'tls client error'));
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => {
    // The head of a streamed response goes out on its own (watches need it at once); with Nagle
    // on, the body's small write would then wait ~40 ms for the client's delayed ACK.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function refuseRaw(socket: Duplex, code: ErrorCode, message: string): void {
  if (socket.writable) writeStatusToSocket(socket, new KubegateError(code, message), randomUUID());
  else socket.destroy();
}
