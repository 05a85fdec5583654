// Closes client connections that have carried no request for a while, as the API server does
// (Go's IdleTimeout, 90 s there): kubegate holds ~76 KiB per open connection, and clients that
// vanish without closing, or open connections and never use them, would otherwise keep theirs for
// ever. Idle means no request in flight: an HTTP/2 session with no open stream (closed with a
// GOAWAY, which tells the client to use a new connection), an HTTP/1.1 connection between two
// requests (Node's keep-alive timer) or before its first. A connection with a request in flight
// is never idle, however quiet: a watch without events, logs -f, a held request, an exec session.
import type { Http2SecureServer, ServerHttp2Session } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export function closeIdleConnections(server: Http2SecureServer, idleMs: number): void {
  // HTTP/1.1 after a response: Node's own keep-alive timer, cleared by the next request. Node's
  // HTTP/1.1 layer reads it from this server under allowHTTP1; its types do not say so.
  (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = idleMs;
  server.on('session', (session: ServerHttp2Session) => closeWhenNoStreams(session, idleMs));
  server.on('secureConnection', (socket: TLSSocket) => {
    // HTTP/1.1 before its first request (the 'request' listener below clears it; the upgrade
    // handler clears it for exec, attach and port-forward). HTTP/2 sessions count streams.
    if (socket.alpnProtocol !== 'h2') socket.setTimeout(idleMs);
  });
  server.on('request', (req: IncomingMessage) => {
    if (req.httpVersionMajor === 1) req.socket.setTimeout(0);
  });
}

function closeWhenNoStreams(session: ServerHttp2Session, idleMs: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | null = setTimeout(() => session.close(), idleMs).unref();
  session.on('stream', (stream) => {
    open += 1;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    stream.once('close', () => {
      open -= 1;
      if (open === 0 && !session.closed && !session.destroyed) {
        timer = setTimeout(() => session.close(), idleMs).unref();
      }
    });
  });
  session.once('close', () => {
    if (timer !== null) clearTimeout(timer);
  });
}
