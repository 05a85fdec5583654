// The loopback redirect of kubegate login's browser sign-in (RFC 8252 §7.3): a one-shot HTTP
// server on 127.0.0.1 that waits for the identity provider to send the browser back to
// http://127.0.0.1:PORT/callback with the authorization response. Input: the port (0: any free
// one) and the `state` kubegate sent. Output: the callback URL, and a way to answer the browser
// once the code has been exchanged (so the page says "signed in" only when that is true).
// Must never listen beyond loopback, and never take a response whose `state` is not the one sent:
// any web page the user visits can make the browser call this port, and a response it forged
// would sign the user in as someone else (login CSRF). Such a request is answered and ignored.

import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { KubegateError } from '../errors.js';

export const CALLBACK_PATH = '/callback';

export interface RedirectCallback {
  /** The full URL the browser was sent to: what openid-client checks and exchanges. */
  readonly url: URL;
  /** Answers the browser's tab: signed in, or why not. */
  reply(outcome: { readonly signedIn: true } | { readonly signedIn: false; readonly why: string }): void;
}

export interface LoopbackRedirect {
  /** http://127.0.0.1:PORT/callback: the redirect_uri to send (and to register at the provider). */
  readonly redirectUri: string;
  /** The first callback that carries `state`; rejects with the signal's reason when it aborts. */
  callback(signal: AbortSignal): Promise<RedirectCallback>;
  close(): Promise<void>;
}

export async function listenForRedirect(port: number, expectedState: string): Promise<LoopbackRedirect> {
  let deliver: ((cb: RedirectCallback) => void) | null = null;
  const pending: RedirectCallback[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1`);
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) {
      page(res, 404, 'Not found', 'kubegate is waiting for a sign-in here, at /callback only.');
      return;
    }
    if (url.searchParams.get('state') !== expectedState) {
      page(
        res,
        400,
        'Not this sign-in',
        'This answer does not belong to the sign-in kubegate started, so it was ignored. Use the link kubegate printed.',
      );
      return;
    }
    const full = new URL(`${redirectUri}${url.search}`);
    const cb = callbackFor(full, res);
    if (deliver !== null) deliver(cb);
    else pending.push(cb);
  });
  // A response still open when kubegate exits must not keep the browser waiting for ever.
  server.keepAliveTimeout = 1_000;
  server.listen({ host: '127.0.0.1', port });
  try {
    // once() rejects when 'error' is emitted first (EADDRINUSE, EACCES).
    await once(server, 'listening');
  } catch (err) {
    throw new KubegateError(
      'KG_LOGIN_FAILED',
      `cannot wait for the sign-in on 127.0.0.1:${port} (${(err as NodeJS.ErrnoException).code ?? String(err)}): choose another --listen-port, one the identity provider allows as http://127.0.0.1:PORT${CALLBACK_PATH}`,
      { cause: err },
    );
  }
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  const redirectUri = `http://127.0.0.1:${boundPort}${CALLBACK_PATH}`;
  return {
    redirectUri,
    callback(signal) {
      const first = pending.shift();
      if (first !== undefined) return Promise.resolve(first);
      return new Promise((resolve, reject) => {
        const onAbort = (): void => {
          deliver = null;
          reject(signal.reason as Error);
        };
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        deliver = (cb) => {
          signal.removeEventListener('abort', onAbort);
          deliver = null;
          resolve(cb);
        };
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function callbackFor(url: URL, res: ServerResponse): RedirectCallback {
  let answered = false;
  return {
    url,
    reply(outcome) {
      if (answered) return;
      answered = true;
      if (outcome.signedIn) {
        page(
          res,
          200,
          'Signed in',
          'kubegate has your sign-in. You can close this tab and go back to kubectl.',
        );
      } else page(res, 400, 'Sign-in failed', outcome.why);
    },
  };
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  const body = `<!doctype html><meta charset="utf-8"><title>kubegate: ${escapeHtml(title)}</title><h1>${escapeHtml(title)}</h1><p id="kubegate-sign-in">${escapeHtml(text)}</p>\n`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'",
    connection: 'close',
  });
  res.end(body);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/gu, (c) => `&#${c.charCodeAt(0)};`);
}
