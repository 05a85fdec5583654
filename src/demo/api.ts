// A minimal client for the test bed's own set-up calls (readiness, RBAC, node); tests use kubectl.
import { Agent, request } from 'undici';

export interface ApiClient {
  call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown; text: string }>;
  close(): Promise<void>;
}

export function apiClient(server: string, caPem: string, token: string): ApiClient {
  const dispatcher = new Agent({ connect: { ca: caPem } });
  return {
    async call(method, path, body) {
      const res = await request(server + path, {
        method: method as 'GET',
        dispatcher,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      return { status: res.statusCode, json, text };
    },
    close: () => dispatcher.close(),
  };
}

/**
 * Polls `check` until it returns true or the deadline passes; the error names what was awaited.
 * A check that does not settle (a connection accepted and never answered) is abandoned at the
 * deadline: the wait always ends.
 */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
    });
    try {
      const result = await Promise.race([check(), late]);
      if (result === true) return;
      if (result === 'late') break;
    } catch (err) {
      lastError = err;
    } finally {
      clearTimeout(timer);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}
