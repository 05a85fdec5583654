// HTTP conventions of kubegate's own API (/kubegate/v1/…), shared by its parts (approvals, audit,
// policy, web sessions): JSON in and out, every error a Kubernetes-style Status. Refusals of the
// API's own (routing, input, review refusals) are ApiRefusals; kubegate's coded errors go through
// toStatus. Must never echo raw client input in a message without printable().
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { toStatus, type Status, type StatusDetails } from '../errors.js';
import type { ClientRequest } from '../gateway/read-body.js';

export type ApiResponse = ServerResponse | Http2ServerResponse;

export const API_PREFIX = '/kubegate/v1/';
export const API_VERSION = 'kubegate.dev/v1';

const MAX_BODY_BYTES = 64 * 1024;

/** A refusal of the API's own, answered as a Status. */
export class ApiRefusal extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    /** A stable word for programs (details.causes[0].reason): 'own-request', 'not-found', … */
    readonly refusal?: string,
    /** For a 405: the methods the path takes. */
    readonly allow?: string,
  ) {
    super(message);
    this.name = 'ApiRefusal';
  }
}

export function badRequest(message: string): ApiRefusal {
  return new ApiRefusal(400, 'BadRequest', message);
}

/** A path under /kubegate/v1/, split: `requests/kg-1/approve` → ['requests', 'kg-1', 'approve']. */
export interface ApiTarget {
  readonly path: string;
  readonly parts: readonly string[];
  readonly query: URLSearchParams;
}

export function apiTarget(target: string): ApiTarget {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
  if (!path.startsWith(API_PREFIX)) throw new ApiRefusal(404, 'NotFound', 'no such kubegate API path');
  return { path, parts: path.slice(API_PREFIX.length).split('/'), query };
}

export function allowMethods(method: string, allowed: readonly string[]): void {
  if (!allowed.includes(method)) {
    throw new ApiRefusal(
      405,
      'MethodNotAllowed',
      `${printable(method)} is not allowed here; use ${allowed.join(' or ')}`,
      undefined,
      allowed.join(', '),
    );
  }
}

/**
 * The body as a JSON object. Only application/json: a browser's cross-site form cannot send it
 * without a CORS preflight, which this API never grants.
 */
export async function readJson(req: ClientRequest): Promise<Record<string, unknown>> {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type !== 'application/json') {
    throw new ApiRefusal(415, 'UnsupportedMediaType', 'send the body as application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new ApiRefusal(413, 'RequestEntityTooLarge', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks, size).toString('utf8');
  if (raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw badRequest('the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Refuses any field but `known`. */
export function onlyFields(body: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) {
      throw badRequest(`unknown field ${JSON.stringify(key.slice(0, 40))}; expected ${known.join(', ')}`);
    }
  }
}

/** A string field, at most `max` characters; undefined when absent. */
export function textField(body: Record<string, unknown>, key: string, max = 4_000): string | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${key} must be a string`);
  if (value.length > max) throw badRequest(`${key} is longer than ${max} characters`);
  return value;
}

/** For messages: at most 100 characters, control and format characters escaped. */
export function printable(s: string): string {
  return JSON.stringify(s.slice(0, 100)).replace(
    /[\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`,
  );
}

export function sendJson(
  res: ApiResponse,
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

/** A Status like the API server's: kubegate's own errors through toStatus, ApiRefusals here. */
export interface ApiStatus extends Omit<Status, 'reason'> {
  readonly reason: string;
}

export function statusOf(err: unknown): ApiStatus {
  if (!(err instanceof ApiRefusal)) return toStatus(err);
  const details: StatusDetails | undefined =
    err.refusal === undefined ? undefined : { causes: [{ reason: err.refusal, message: err.message }] };
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: err.reason,
    code: err.code,
    ...(details === undefined ? {} : { details }),
  };
}

export function writeApiError(res: ApiResponse, err: unknown): void {
  if (res.headersSent) {
    (res as { destroy(): void }).destroy();
    return;
  }
  const status = statusOf(err);
  sendJson(res, status.code, status, err instanceof ApiRefusal && err.allow ? { allow: err.allow } : {});
}
