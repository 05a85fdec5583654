// Requests to the API server AS A REQUESTER (impersonated through upstreamHeaders, like forward),
// for the reviewer context (approvals/context.ts): reads of what the requester may read, and
// dry runs of a held request. The requester's own RBAC decides what each may see and do.
// Input: the upstream, who asked (identity, request id), an AbortSignal for the whole context.
// Output: the status and the JSON of each answer (null when it is not JSON), at most
// MAX_ANSWER_BYTES of it.
// Must never send a mutation that could take effect: a dry run carries dryRun=All first in its
// query (whatever the request's query holds, it cannot swallow it), and a DELETE with a body
// (the API server reads DeleteOptions from the body alone then, and ignores the query) is sent only
// when that body says dryRun: ["All"]. Which requests may be dry-run at all is the caller's
// decision (approvals/dry-run-allow-list.ts: some handlers ignore dryRun).
import { KubegateError } from '../errors.js';
import type { Identity } from '../identity/types.js';
import type { KubeRequest } from '../request/types.js';
import { upstreamHeaders } from './headers.js';
import type { Upstream } from './pool.js';

/** An answer larger than this is not kept (the API server's own request limit is 3 MiB). */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export interface Answer {
  readonly status: number;
  /** The body as JSON; null when empty or not JSON. */
  readonly json: unknown;
}

export interface Requester {
  readonly identity: Identity;
  /** The held request's id, sent as the gateway sends it (Impersonate-Extra-…request-id). */
  readonly requestId: string;
}

export interface AsRequester {
  /** GET of `target` (path and query, without the upstream's path prefix). */
  get(target: string, accept?: string): Promise<Answer>;
  /** The request as a dry run: same method, path, query and body, with dryRun=All first. */
  dryRun(
    request: Pick<KubeRequest, 'method' | 'path' | 'rawQuery'>,
    body: Buffer | string | null,
    contentType: string | null,
  ): Promise<Answer>;
}

interface Call {
  readonly method: KubeRequest['method'];
  readonly target: string;
  readonly body: Buffer | string | null;
  readonly contentType: string | null;
  readonly accept: string;
}

export function asRequester(upstream: Upstream, who: Requester, signal: AbortSignal): AsRequester {
  return {
    get: (target, accept = 'application/json') =>
      send(upstream, who, { method: 'GET', target, body: null, contentType: null, accept }, signal),
    async dryRun(request, body, contentType) {
      if (request.method === 'DELETE' && body !== null && body.length > 0 && !saysDryRunAll(body)) {
        throw new KubegateError(
          'KG_INTERNAL',
          'a DELETE body sent as a dry run must carry dryRun: ["All"] (the API server reads the body, not the query)',
        );
      }
      const target = `${request.path}?dryRun=All${request.rawQuery === '' ? '' : `&${request.rawQuery}`}`;
      return await send(
        upstream,
        who,
        { method: request.method, target, body, contentType, accept: 'application/json' },
        signal,
      );
    },
  };
}

/** The body is JSON DeleteOptions whose dryRun is exactly ["All"], under no other spelling. */
function saysDryRunAll(body: Buffer | string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(body.toString());
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value).filter((k) => k.toLowerCase() === 'dryrun');
  const dryRun = (value as Record<string, unknown>).dryRun;
  return (
    keys.length === 1 &&
    keys[0] === 'dryRun' &&
    Array.isArray(dryRun) &&
    dryRun.length === 1 &&
    dryRun[0] === 'All'
  );
}

async function send(upstream: Upstream, who: Requester, call: Call, signal: AbortSignal): Promise<Answer> {
  const raw = ['accept', call.accept, 'user-agent', 'kubegate/reviewer-context'];
  if (call.contentType !== null) raw.push('content-type', call.contentType);
  const response = await upstream.pool.request({
    path: upstream.pathPrefix + call.target,
    method: call.method,
    headers: upstreamHeaders(raw, who.identity, who.requestId, upstream.authorization()),
    body: call.body,
    signal,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) {
      response.body.destroy();
      throw new KubegateError(
        'KG_UPSTREAM_UNAVAILABLE',
        `the answer is larger than ${MAX_ANSWER_BYTES} bytes`,
      );
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  let json: unknown;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: response.statusCode, json };
}
