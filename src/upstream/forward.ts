// Stage 6, forward: sends a decided request to the API server as the caller (impersonated) and
// streams the answer back event by event (watches, logs -f), with backpressure and no buffering
// or compression. Input: the parsed request, its body, the caller; output: what the API server
// answered. Never forwards anything but the method, path, query and body that were parsed.
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { errors as undiciErrors } from 'undici';
import type { Identity } from '../identity/types.js';
import type { KubeRequest } from '../request/types.js';
import { queryBool } from '../request/list-options.js';
import { describeFailure, KubegateError } from '../errors.js';
import { downstreamHeaders, upstreamHeaders } from './headers.js';
import type { Upstream } from './pool.js';

export type ClientResponse = ServerResponse | Http2ServerResponse;

export interface ForwardInput {
  readonly request: KubeRequest;
  readonly body: Buffer | null;
  readonly identity: Identity;
  readonly requestId: string;
  /** The client's headers as received (Node's flat rawHeaders list). */
  readonly rawHeaders: readonly string[];
  /** The client's address as kubegate's socket saw it (sent as X-Forwarded-For); null if unknown. */
  readonly sourceAddress: string | null;
}

export interface ForwardResult {
  readonly status: number;
  /** Milliseconds from sending to the API server's response head. */
  readonly headersMs: number;
}

export function upstreamTarget(upstream: Upstream, request: KubeRequest): string {
  return upstream.pathPrefix + request.path + (request.rawQuery === '' ? '' : `?${request.rawQuery}`);
}

/**
 * Forwards and streams the response into `res`. Rejects with KG_UPSTREAM_* before the response
 * head was written (the caller answers with a Status); after that, a failure cuts the response.
 */
export async function forward(
  input: ForwardInput,
  res: ClientResponse,
  upstream: Upstream,
  signal: AbortSignal,
): Promise<ForwardResult> {
  const started = performance.now();
  let status = 0;
  let headersMs = 0;
  const { rawHeaders, identity, requestId, sourceAddress } = input;
  const requestHeaders = upstreamHeaders(rawHeaders, identity, requestId, upstream.authorization(), {
    sourceAddress,
  });
  // A watch or logs -f gets a connection of its own, closed when it ends (pool.ts says why).
  const own = streamsUntilEnded(input.request) ? upstream.ownConnection() : null;
  try {
    await (own ?? upstream.pool).stream(
      {
        path: upstreamTarget(upstream, input.request),
        method: input.request.method,
        headers: requestHeaders,
        body: input.body,
        signal,
      },
      ({ statusCode, headers }) => {
        status = statusCode;
        headersMs = performance.now() - started;
        res.writeHead(statusCode, downstreamHeaders(headers));
        // A streamed answer (watch, logs -f: no Content-Length) gets its head now, not with the
        // first event; a sized one goes out with its body in one TLS write.
        if (headers['content-length'] === undefined && 'flushHeaders' in res) res.flushHeaders();
        return res;
      },
    );
  } catch (err) {
    if (status !== 0) {
      // The head is out: all we can do is cut the stream so the client sees it end early.
      if (!res.writableEnded) (res as { destroy(e?: Error): void }).destroy();
      return { status, headersMs };
    }
    throw upstreamError(err, upstream);
  } finally {
    if (own !== null) void own.destroy();
  }
  return { status, headersMs };
}

/** A watch, or logs -f: answers that go on until one side ends them. */
function streamsUntilEnded(request: KubeRequest): boolean {
  if (request.verb === 'watch') return true;
  return request.subresource === 'log' && queryBool(request.query['follow'] ?? []);
}

export function upstreamError(err: unknown, upstream: Upstream): KubegateError {
  if (err instanceof KubegateError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError) {
    return new KubegateError(
      'KG_UPSTREAM_TIMEOUT',
      `the Kubernetes API server at ${upstream.origin} did not answer in time; the request may or may not have been applied. Check with a read before retrying a change.`,
      { cause: err },
    );
  }
  return new KubegateError(
    'KG_UPSTREAM_UNAVAILABLE',
    `kubegate cannot reach the Kubernetes API server at ${upstream.origin}: ${describeFailure(err, 'connection failed')}. The request was not forwarded; retry when the API server is back.`,
    { cause: err },
  );
}
