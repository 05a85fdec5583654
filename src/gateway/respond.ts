// Writes kubegate's own answers to the client: every error as a Kubernetes Status (kubectl prints
// "Error from server (<reason>): <message>"), on the Kubernetes API and on kubegate's own API
// (/kubegate/v1/, the UI) alike, and the own API's JSON. toStatus is the only source of a Status
// body; writeStatus is the only writer of one (writeStatusToSocket for a refused upgrade).
// Must never write an error's details beyond what toStatus puts in the Status.
import type { Duplex } from 'node:stream';
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import { ERROR_CODE_HEADER, KubegateError, toStatus } from '../errors.js';
import type { ClientResponse } from '../upstream/forward.js';

export const REQUEST_ID_HEADER = 'x-kubegate-request-id';

/** JSON with the headers every answer of kubegate's own carries (never cached). */
export function sendJson(
  res: ClientResponse,
  code: number,
  body: unknown,
  headers: Readonly<Record<string, string | string[]>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** The headers that go with the Status for `err`: its code, Allow on a 405, the request id. */
function statusHeaders(err: unknown, requestId: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    [ERROR_CODE_HEADER]: err instanceof KubegateError ? err.code : 'KG_INTERNAL',
  };
  if (err instanceof KubegateError && err.allow !== undefined) headers.allow = err.allow.join(', ');
  if (requestId !== undefined) headers[REQUEST_ID_HEADER] = requestId;
  return headers;
}

/**
 * Sends the Status for `err`; returns its HTTP code. Cuts the response if its head is already
 * out. The gateway passes its request id; kubegate's own API has none.
 */
export function writeStatus(res: ClientResponse, err: unknown, requestId?: string): number {
  const status = toStatus(err);
  if (res.headersSent) {
    (res as { destroy(): void }).destroy();
    return status.code;
  }
  sendJson(res, status.code, status, statusHeaders(err, requestId));
  return status.code;
}

/** The same on a raw socket (refused upgrades); closes the connection afterwards. */
export function writeStatusToSocket(socket: Duplex, err: unknown, requestId: string): number {
  const status = toStatus(err);
  const body = JSON.stringify(status);
  if (socket.writable) {
    const headers = Object.entries(statusHeaders(err, requestId))
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? 'Error'}\r\n` +
        'content-type: application/json\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'cache-control: no-store\r\n' +
        headers +
        'connection: close\r\n\r\n' +
        body,
    );
  }
  return status.code;
}

/**
 * Adds kubegate's own `Warning` (a header value from approvals/messages.ts warningHeaderValue) to
 * whatever head is written next, beside the API server's own Warning headers (deprecations, field
 * validation). forward writes the head in one writeHead call, whose headers would replace one
 * set earlier with setHeader, so the Warning joins that call's headers instead.
 */
export function addWarning(res: ClientResponse, value: string): void {
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: OutgoingHttpHeaders) => unknown;
  const withWarning = (status: number, headers: OutgoingHttpHeaders = {}): unknown => {
    const out: OutgoingHttpHeaders = {};
    const warnings: string[] = [];
    for (const [name, v] of Object.entries(headers)) {
      if (name.toLowerCase() !== 'warning') out[name] = v;
      else if (Array.isArray(v)) warnings.push(...v);
      else if (v !== undefined) warnings.push(String(v));
    }
    Object.assign(out, { warning: [...warnings, value] });
    return writeHead(status, out);
  };
  Object.assign(res, { writeHead: withWarning });
}
