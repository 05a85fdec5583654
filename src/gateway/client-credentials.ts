// What the client presented: its TLS client certificate (verified against kubegate's CA by the
// listener) and its Authorization header. The certificate is read once per connection.
import type { TLSSocket } from 'node:tls';
import type { ClientCredentials } from '../identity/identify.js';
import type { ClientRequest } from './read-body.js';

type CertificateCredential = ClientCredentials['certificate'];

const perSocket = new WeakMap<TLSSocket, CertificateCredential>();

export function tlsSocketOf(req: ClientRequest): TLSSocket {
  if ('stream' in req) return req.stream.session!.socket as TLSSocket;
  return req.socket as TLSSocket;
}

export function certificateOf(socket: TLSSocket): CertificateCredential {
  let cert = perSocket.get(socket);
  if (cert === undefined) {
    const peer = socket.getPeerCertificate();
    const notAfter = peer?.valid_to ? new Date(peer.valid_to) : undefined;
    cert =
      peer && peer.subject
        ? {
            authorized: socket.authorized,
            subject: peer.subject,
            ...(notAfter !== undefined && !Number.isNaN(notAfter.getTime()) ? { notAfter } : {}),
          }
        : null;
    perSocket.set(socket, cert);
  }
  return cert;
}

export function clientCredentials(socket: TLSSocket, authorization: string | undefined): ClientCredentials {
  return { certificate: certificateOf(socket), authorization };
}
