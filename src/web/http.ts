// HTTP conventions of kubegate's own API (/kubegate/v1/…), shared by its parts (approvals, audit,
// policy, web sessions): JSON in and out (sendJson in gateway/respond.ts), every refusal a
// KubegateError (KG_API_* for routing and input) that own-api.ts writes as a Status.
// Must never echo raw client input in a message without printable().
import { KubegateError } from '../errors.js';
import type { ClientRequest } from '../gateway/read-body.js';
import type { ClientResponse } from '../upstream/forward.js';

export type ApiResponse = ClientResponse;

export const API_PREFIX = '/kubegate/v1/';
export const API_VERSION = 'kubegate.dev/v1';

const MAX_BODY_BYTES = 64 * 1024;

export function badRequest(message: string): KubegateError {
  return new KubegateError('KG_API_BAD_REQUEST', message);
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
  if (!path.startsWith(API_PREFIX)) throw new KubegateError('KG_API_NOT_FOUND', 'no such kubegate API path');
  return { path, parts: path.slice(API_PREFIX.length).split('/'), query };
}

export function allowMethods(method: string, allowed: readonly string[]): void {
  if (!allowed.includes(method)) {
    throw new KubegateError(
      'KG_API_METHOD',
      `${printable(method)} is not allowed here; use ${allowed.join(' or ')}`,
      { allow: allowed },
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
    throw new KubegateError('KG_API_MEDIA_TYPE', 'send the body as application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new KubegateError('KG_API_BODY_TOO_LARGE', `the body is larger than ${MAX_BODY_BYTES} bytes`);
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
