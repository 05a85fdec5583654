// The fetch openid-client uses for the web UI's sign-in (its customFetch): node's http(s) client
// with the issuer's CA when identity.oidc[].caFile is set, as oidc-issuer.ts reaches the provider
// for keys (undici is kept for the API server, upstream/). Input: openid-client's request (GET for
// discovery, a form POST to the token endpoint). Output: a fetch Response. Must never follow a
// redirect (openid-client asks for none: a 3xx is its answer), never read more than
// MAX_RESPONSE_BYTES, and never wait past openid-client's signal (its timeout).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CustomFetch } from 'openid-client';

/** Discovery documents and token responses are a few KiB; more is not one. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export function providerFetch(caPem: string | undefined): CustomFetch {
  return (url, options) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      const body = bodyText(options.body);
      const onResponse = (res: IncomingMessage): void => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES)
            res.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const one of Array.isArray(value) ? value : [value ?? '']) headers.append(name, one);
          }
          const status = res.statusCode ?? 502;
          const empty = status === 204 || status === 304;
          resolve(new Response(empty ? null : Buffer.concat(chunks, size), { status, headers }));
        });
        res.on('error', reject);
      };
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        target,
        {
          method: options.method,
          headers: options.headers,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          ...(caPem === undefined ? {} : { ca: caPem }),
        },
        onResponse,
      );
      req.on('error', reject);
      req.end(body);
    });
}

/** The request body as openid-client sends it: a form (URLSearchParams) or text. */
function bodyText(body: Parameters<CustomFetch>[1]['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError('openid-client sent a streamed body, which the sign-in never sends');
}
