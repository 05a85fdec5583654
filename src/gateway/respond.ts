// Writes kubegate's own answers (errors) to the client as Kubernetes Status objects, which kubectl
// prints as "Error from server (<reason>): <message>". toStatus is the only source of the body.
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { toStatus } from '../errors.js';
import type { ClientResponse } from '../upstream/forward.js';

export const REQUEST_ID_HEADER = 'x-kubegate-request-id';

/** Sends the Status for `err`; returns its HTTP code. Cuts the response if its head is already out. */
export function writeStatus(res: ClientResponse, err: unknown, requestId: string): number {
  const status = toStatus(err);
  if (res.headersSent) {
    (res as { destroy(): void }).destroy();
    return status.code;
  }
  const body = JSON.stringify(status);
  res.writeHead(status.code, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    [REQUEST_ID_HEADER]: requestId,
  });
  res.end(body);
  return status.code;
}

/** The same on a raw socket (refused upgrades); closes the connection afterwards. */
export function writeStatusToSocket(socket: Duplex, err: unknown, requestId: string): number {
  const status = toStatus(err);
  const body = JSON.stringify(status);
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? 'Error'}\r\n` +
        'content-type: application/json\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'cache-control: no-store\r\n' +
        `${REQUEST_ID_HEADER}: ${requestId}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  }
  return status.code;
}
