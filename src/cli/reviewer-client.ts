// The reviewer API's client, for `kubegate requests …`: reads a reviewer kubeconfig (the current
// context's server, CA, and client certificate or token — the same credential kubectl uses with
// kubegate) and talks to /kubegate/v1/ on that server with undici. Input: a kubeconfig path, or a
// connection for tests. Output: the API's JSON, typed as src/web/api-types.ts defines it.
// Must never weaken TLS (the kubeconfig reader refuses insecure-skip-tls-verify and plain http),
// never print or log the credential, and never turn a refusal into anything but a KubegateError
// with kubegate's own code (X-Kubegate-Error-Code) and message; KG_CLI_NO_ANSWER when kubegate
// could not be reached or the answer is not kubegate's.
import { Agent, type Dispatcher } from 'undici';
import { StringDecoder } from 'node:string_decoder';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, ERROR_CODE_HEADER, isErrorCode, KubegateError, type ErrorCode } from '../errors.js';
import { upstreamFromKubeconfig, type UpstreamTarget } from '../kubeconfig/read.js';
import type { NextReasonView, RequestList, RequestView, WatchEvent } from '../web/api-types.js';
import { API_PREFIX } from '../web/http.js';
import type { PendingState } from '../approvals/types.js';

/** Where kubegate is and how to prove who we are (kubeconfig/read.ts's UpstreamTarget). */
export type ReviewerConnection = UpstreamTarget;

export interface ReviewerClient {
  readonly server: string;
  /** `mine`: only the caller's own requests. */
  list(filter?: { readonly state?: PendingState; readonly mine?: boolean }): Promise<RequestList>;
  get(id: string): Promise<RequestView>;
  approve(
    id: string,
    input?: {
      readonly comment?: string;
      readonly breakGlassReason?: string;
      /** A standing approval: a Go-style duration ("30m") and identical or rule. */
      readonly standing?: { readonly duration: string; readonly scope: string };
    },
  ): Promise<RequestView>;
  deny(id: string, comment: string): Promise<RequestView>;
  /** The requester withdraws their own pending request. */
  cancel(id: string): Promise<RequestView>;
  /** The requester gives or changes the reason of their own pending request. */
  giveReason(id: string, reason: string): Promise<RequestView>;
  /** The caller's reason for their next held request: read, set (ttlSeconds: how long it waits), cleared. */
  nextReason(): Promise<NextReasonView>;
  setNextReason(reason: string, ttlSeconds?: number): Promise<NextReasonView>;
  clearNextReason(): Promise<NextReasonView>;
  /** Ends the request's standing approval (its requester or one of its approvers). */
  revoke(id: string): Promise<RequestView>;
  /**
   * Calls onEvent per server-sent event until the stream ends (resolves) or `signal` aborts;
   * onOpen once kubegate accepted the stream (what changes from then on is in it).
   */
  watch(onEvent: (event: WatchEvent) => void, signal: AbortSignal, onOpen?: () => void): Promise<void>;
  close(): Promise<void>;
}

/** $KUBECONFIG's first file, else ~/.kube/config (as kubectl, without merging several files). */
export function defaultKubeconfig(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(':').find((p) => p !== '');
  return first ?? join(homedir(), '.kube', 'config');
}

/** The connection the kubeconfig's context (default: current-context) describes. */
export async function connectionFromKubeconfig(path: string, context?: string): Promise<ReviewerConnection> {
  try {
    return await upstreamFromKubeconfig(path, context);
  } catch (err) {
    // The reader was written for kubegate's own upstream identity; say what it means here.
    if (err instanceof KubegateError) {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        err.message
          .replaceAll('upstream kubeconfig', 'kubeconfig')
          .replace('name one with upstream.context', 'name one with --context'),
        { cause: err },
      );
    }
    throw err;
  }
}

/** The client for a command's --kubeconfig and --context flags (defaults as kubectl's). */
export async function clientFromFlags(flags: {
  readonly kubeconfig?: string;
  readonly context?: string;
}): Promise<ReviewerClient> {
  return createReviewerClient(
    await connectionFromKubeconfig(flags.kubeconfig ?? defaultKubeconfig(), flags.context),
  );
}

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

export function createReviewerClient(connection: ReviewerConnection): ReviewerClient {
  const url = new URL(connection.server);
  const auth = connection.auth;
  const agent = new Agent({
    connect: {
      rejectUnauthorized: true,
      ...(connection.caPem !== null ? { ca: connection.caPem } : {}),
      ...(connection.tlsServerName !== null ? { servername: connection.tlsServerName } : {}),
      ...(auth.kind === 'client-certificate' ? { cert: auth.certPem, key: auth.keyPem } : {}),
    },
  });
  const origin = url.origin;

  function headers(extra: Record<string, string> = {}): Record<string, string> {
    const out: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'kubegate-cli',
      ...extra,
    };
    if (auth.kind === 'token') out.authorization = `Bearer ${auth.token()}`;
    return out;
  }

  async function send(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await agent.request({
        origin,
        path,
        method,
        headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new KubegateError(
        'KG_CLI_NO_ANSWER',
        `cannot reach kubegate at ${origin}: ${describeFailure(err, 'connection failed')}`,
        { cause: err },
      );
    }
  }

  async function json<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    const response = await send(method, path, body);
    const text = await readText(response.body, MAX_RESPONSE_BYTES);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = null;
    }
    if (response.statusCode >= 200 && response.statusCode < 300 && value !== null) return value as T;
    throw refusal(response, value);
  }

  return {
    server: origin,
    list(filter = {}) {
      const query = new URLSearchParams();
      if (filter.state !== undefined) query.set('state', filter.state);
      if (filter.mine === true) query.set('mine', 'true');
      const q = query.toString();
      return json<RequestList>('GET', `${API_PREFIX}requests${q === '' ? '' : `?${q}`}`);
    },
    get(id) {
      return json<RequestView>('GET', `${API_PREFIX}requests/${encodeURIComponent(id)}`);
    },
    approve(id, input = {}) {
      return json<RequestView>('POST', `${API_PREFIX}requests/${encodeURIComponent(id)}/approve`, input);
    },
    deny(id, comment) {
      return json<RequestView>('POST', `${API_PREFIX}requests/${encodeURIComponent(id)}/deny`, { comment });
    },
    cancel(id) {
      return json<RequestView>('POST', `${API_PREFIX}requests/${encodeURIComponent(id)}/cancel`, {});
    },
    giveReason(id, reason) {
      return json<RequestView>('POST', `${API_PREFIX}requests/${encodeURIComponent(id)}/reason`, { reason });
    },
    nextReason() {
      return json<NextReasonView>('GET', `${API_PREFIX}reason`);
    },
    setNextReason(reason, ttlSeconds) {
      return json<NextReasonView>('PUT', `${API_PREFIX}reason`, {
        reason,
        ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
      });
    },
    clearNextReason() {
      return json<NextReasonView>('DELETE', `${API_PREFIX}reason`);
    },
    revoke(id) {
      return json<RequestView>('POST', `${API_PREFIX}requests/${encodeURIComponent(id)}/revoke`, {});
    },
    async watch(onEvent, signal, onOpen) {
      const response = await send('GET', `${API_PREFIX}watch`, undefined, signal);
      if (response.statusCode !== 200) {
        const text = await readText(response.body, MAX_RESPONSE_BYTES);
        let value: unknown = null;
        try {
          value = JSON.parse(text);
        } catch {
          // not a Status: refusal() says what it can
        }
        throw refusal(response, value);
      }
      onOpen?.();
      await readEvents(response.body, onEvent, signal);
    },
    close: () => agent.close(),
  };
}

/** Parses the event stream (WHATWG: fields per line, events end at a blank line). */
async function readEvents(
  body: Dispatcher.ResponseData['body'],
  onEvent: (event: WatchEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let data: string[] = [];
  const onAbort = (): void => {
    body.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      pending += decoder.write(chunk);
      let newline: number;
      while ((newline = pending.search(/\r\n|\n|\r/u)) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + (pending.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) {
            const value = parseEvent(data.join('\n'));
            if (value !== null) onEvent(value);
          }
          data = [];
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
        // `event:`, `id:`, `retry:` and comments: the data says its own type.
      }
      if (pending.length > MAX_EVENT_BYTES)
        throw new KubegateError('KG_CLI_NO_ANSWER', 'an event from kubegate is too large');
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function parseEvent(text: string): WatchEvent | null {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && 'pending' in value ? (value as WatchEvent) : null;
  } catch {
    return null;
  }
}

async function readText(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new KubegateError('KG_CLI_NO_ANSWER', `kubegate's answer is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/**
 * The error for an answer that is not the JSON asked for: kubegate's code (its header) and its
 * Status message, prefixed by what kind of refusal it is; KG_CLI_NO_ANSWER when the answer does
 * not come from kubegate (no code: a proxy in between, another server).
 */
function refusal(
  response: Pick<Dispatcher.ResponseData, 'statusCode' | 'headers'>,
  value: unknown,
): KubegateError {
  const status = response.statusCode;
  const s = (typeof value === 'object' && value !== null ? value : {}) as { message?: unknown };
  const message = typeof s.message === 'string' && s.message !== '' ? s.message : `HTTP ${status}`;
  const header = response.headers[ERROR_CODE_HEADER];
  const code: ErrorCode = typeof header === 'string' && isErrorCode(header) ? header : 'KG_CLI_NO_ANSWER';
  const prefix =
    status === 401
      ? ''
      : status === 404
        ? 'kubegate: '
        : status >= 500
          ? 'kubegate failed: '
          : 'kubegate refused: ';
  return new KubegateError(code, `${prefix}${message}`);
}
