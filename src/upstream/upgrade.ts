// Stage 6 for exec, attach, port-forward and other upgrades (WebSocket GET or SPDY POST): after
// the request was decided, opens kubegate's own TLS connection to the API server, sends the
// request line and headers (every repeated X-Stream-Protocol-Version line kept; kubegate's own
// `Connection: Upgrade`, never the client's Connection, which could name kubegate's impersonation
// headers for an intermediary to drop: see headers.ts), and on a 101 splices the two sockets
// byte for byte with no idle timeout. Any other answer (e.g. RBAC's 403 Status) is relayed and
// both connections are closed: nothing the client sends after a refused upgrade reaches the API
// server on kubegate's authenticated connection.
import { connect, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { KubegateError } from '../errors.js';
import type { ForwardInput } from './forward.js';
import { upstreamError, upstreamTarget } from './forward.js';
import { upstreamHeaders } from './headers.js';
import type { Upstream } from './pool.js';

const MAX_RESPONSE_HEAD = 64 * 1024;
const NON_101_BODY_DEADLINE_MS = 30_000;
const CLIENT_FLUSH_DEADLINE_MS = 10_000;

export interface UpgradeResult {
  readonly status: number;
  readonly headersMs: number;
  /** Resolves when the spliced session (or the relayed refusal) has ended. */
  readonly closed: Promise<void>;
}

function requestHead(input: ForwardInput, upstream: Upstream): string {
  const headers = upstreamHeaders(
    input.rawHeaders,
    input.identity,
    input.requestId,
    upstream.authorization(),
    { upgrade: true, sourceAddress: input.sourceAddress },
  );
  const hostHeader =
    upstream.tls.port === 443 ? upstream.tls.host : `${upstream.tls.host}:${upstream.tls.port}`;
  let head = `${input.request.method} ${upstreamTarget(upstream, input.request)} HTTP/1.1\r\nhost: ${hostHeader}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head + '\r\n';
}

function connectUpstream(upstream: Upstream, signal: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ ...upstream.tls, ALPNProtocols: ['http/1.1'] });
    const fail = (err: unknown): void => {
      socket.destroy();
      reject(upstreamError(err, upstream));
    };
    const onAbort = (): void => fail(new Error('client went away'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/** Reads the upstream response head; returns it, its status, and any bytes that followed it. */
function readResponseHead(
  socket: TLSSocket,
  signal: AbortSignal,
): Promise<{ head: Buffer; status: number; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > MAX_RESPONSE_HEAD) onError(new Error('response head too large'));
        return;
      }
      cleanup();
      socket.pause();
      const head = buffered.subarray(0, end + 4);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1', 0, 16));
      if (!match) {
        reject(new Error('malformed response from the API server'));
        return;
      }
      resolve({ head, status: Number(match[1]), rest: buffered.subarray(end + 4) });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onEnd = (): void => onError(new Error('the API server closed the connection'));
    const onAbort = (): void => onError(new Error('client went away'));
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('end', onEnd);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function contentLength(head: Buffer): number | null {
  const m = /\r\ncontent-length:\s*(\d+)\r\n/i.exec(head.toString('latin1'));
  return m ? Number(m[1]) : null;
}

/**
 * Joins two sockets both ways; resolves once both are closed. A half-close is passed on. Once the
 * API server's side has closed and its last bytes are flushed to the client, the session is over:
 * the client socket is destroyed rather than left waiting for the client's FIN (server sockets
 * allow half-open connections, and a paused reader never sees that FIN).
 */
function splice(client: Duplex, upstreamSocket: TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    let open = 2;
    const closed = (): void => {
      if (--open === 0) resolve();
    };
    client.once('close', () => {
      upstreamSocket.destroy();
      closed();
    });
    upstreamSocket.once('close', () => {
      client.end(() => client.destroy());
      setTimeout(() => client.destroy(), CLIENT_FLUSH_DEADLINE_MS).unref();
      closed();
    });
    client.on('error', () => client.destroy());
    upstreamSocket.on('error', () => upstreamSocket.destroy());
    client.once('end', () => upstreamSocket.end());
    upstreamSocket.once('end', () => client.end());
    client.pipe(upstreamSocket, { end: false });
    upstreamSocket.pipe(client, { end: false });
  });
}

/** Relays a refused upgrade (status, headers, body) and closes both connections. */
function relayRefusal(client: Duplex, socket: TLSSocket, head: Buffer, rest: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const length = contentLength(head);
    let remaining = length === null ? Infinity : length - rest.length;
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      client.end(() => resolve());
    };
    const timer = setTimeout(finish, NON_101_BODY_DEADLINE_MS);
    client.write(head);
    if (rest.length > 0) client.write(rest);
    if (remaining <= 0) return finish();
    socket.on('data', (chunk: Buffer) => {
      client.write(chunk);
      remaining -= chunk.length;
      if (remaining <= 0) finish();
    });
    socket.once('end', finish);
    socket.once('error', finish);
    socket.resume();
  });
}

export async function forwardUpgrade(
  input: ForwardInput,
  client: Duplex,
  clientHead: Buffer,
  upstream: Upstream,
  signal: AbortSignal,
): Promise<UpgradeResult> {
  const started = performance.now();
  // Built before connecting: a request refused by its headers never opens a connection.
  const head = requestHead(input, upstream);
  const socket = await connectUpstream(upstream, signal);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 30_000);
  socket.write(head);
  let response;
  try {
    response = await readResponseHead(socket, signal);
  } catch (err) {
    socket.destroy();
    throw err instanceof KubegateError ? err : upstreamError(err, upstream);
  }
  const headersMs = performance.now() - started;
  if (response.status !== 101) {
    return {
      status: response.status,
      headersMs,
      closed: relayRefusal(client, socket, response.head, response.rest),
    };
  }
  client.write(response.head);
  if (response.rest.length > 0) client.write(response.rest);
  // Bytes the client sent after its request head belong to the upgraded protocol.
  if (clientHead.length > 0) socket.write(clientHead);
  return { status: 101, headersMs, closed: splice(client, socket) };
}
