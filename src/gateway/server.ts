// The listener: HTTPS with HTTP/2 and HTTP/1.1 on one port (kubectl uses HTTP/2 for ordinary
// requests and a separate HTTP/1.1 connection for exec, attach and port-forward upgrades).
// Client certificates are requested and verified against kubegate's CA, but not required: the
// pipeline answers a missing or foreign certificate with a 401 Status kubectl can print, rather
// than a TLS failure it cannot.
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { handleRequest, handleUpgrade, type GatewayDeps } from './pipeline.js';
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

export function createGatewayServer(tls: ServingTls, deps: GatewayDeps): GatewayServer {
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
  // Watches, logs -f and exec sessions are long-lived: no idle timeout on the client side.
  server.setTimeout(0);
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
