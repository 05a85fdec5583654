// Reads a request body into memory, up to the configured limit (the API server's own limit is
// 3 MiB), so that policy and approvals see exactly the bytes that will be forwarded.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { KubegateError } from '../errors.js';

export type ClientRequest = IncomingMessage | Http2ServerRequest;

function hasBody(req: ClientRequest): boolean {
  if ('stream' in req) return !req.stream.endAfterHeaders; // HTTP/2: END_STREAM on HEADERS
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function tooLarge(limit: number): KubegateError {
  return new KubegateError(
    'KG_REQUEST_BODY_TOO_LARGE',
    `the request body is larger than kubegate's limit of ${limit} bytes; nothing was forwarded. Split the change into smaller objects.`,
  );
}

/** The body, or null when the request has none. */
export async function readBody(req: ClientRequest, limit: number): Promise<Buffer | null> {
  if (!hasBody(req)) return null;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
