// The audit trail over kubegate's own API, for the web UI's audit view:
//
//   GET /kubegate/v1/audit?user=&namespace=&verb=&resource=&decision=&kind=&pendingId=&since=&until=&limit=
//       → {kind: AuditRecordList, items: [{seq, prevHash, hash, event}]}, newest first
//   GET /kubegate/v1/audit/verify → {kind: AuditVerification, ok, count, …, verifiedAt}
//
// Only the users and groups in audit.readers may read it: the trail names everyone's requests.
// Input: an authenticated caller and the query. Output: what AuditReader.query and the chain verifier
// say. Must never write to the trail, and never build a query from anything but the known filters.
import type { AuditQuery, AuditReader } from '../audit/store.js';
import type { ChainVerifier } from '../audit/verifier.js';
import { KubegateError } from '../errors.js';
import { sendJson } from '../gateway/respond.js';
import type { Identity } from '../identity/types.js';
import type { AuditRecordList, AuditVerification } from './api-types.js';
import {
  API_VERSION,
  allowMethods,
  badRequest,
  printable,
  type ApiResponse,
  type ApiTarget,
} from './http.js';

export interface AuditReaders {
  readonly users: readonly string[];
  readonly groups: readonly string[];
}

export interface AuditApiDeps {
  readonly reader: Pick<AuditReader, 'query'>;
  readonly verifier: ChainVerifier;
  readonly readers: AuditReaders;
}

export interface AuditApi {
  /** Answers a path whose first part is `audit`. */
  handle(method: string, target: ApiTarget, res: ApiResponse, who: Identity): Promise<void>;
}

export const DEFAULT_LIMIT = 200;
export const MAX_LIMIT = 1000;

const TEXT_FILTERS = ['user', 'namespace', 'verb', 'resource', 'decision', 'kind', 'pendingId'] as const;
const KNOWN = new Set<string>([...TEXT_FILTERS, 'since', 'until', 'limit']);

export function mayReadAudit(readers: AuditReaders, who: Pick<Identity, 'user' | 'groups'>): boolean {
  return readers.users.includes(who.user) || who.groups.some((g) => readers.groups.includes(g));
}

/** The URL query as an AuditQuery; anything unknown or malformed is a 400 naming it. */
export function auditQueryOf(params: URLSearchParams): AuditQuery {
  for (const key of params.keys()) {
    if (!KNOWN.has(key)) {
      throw badRequest(`unknown filter ${printable(key)}; use ${[...KNOWN].join(', ')}`);
    }
  }
  const query: { -readonly [K in keyof AuditQuery]: AuditQuery[K] } = { limit: DEFAULT_LIMIT };
  for (const key of TEXT_FILTERS) {
    const value = params.get(key);
    if (value !== null && value !== '') query[key] = value.slice(0, 253);
  }
  query.since = time(params, 'since');
  query.until = time(params, 'until');
  const limit = params.get('limit');
  if (limit !== null && limit !== '') {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
      throw badRequest(`limit must be a whole number from 1 to ${MAX_LIMIT}; got ${printable(limit)}`);
    }
    query.limit = n;
  }
  return query;
}

function time(params: URLSearchParams, key: string): Date | undefined {
  const value = params.get(key);
  if (value === null || value === '') return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw badRequest(`${key} must be an ISO 8601 time such as 2026-11-25T10:00:00Z; got ${printable(value)}`);
  }
  return date;
}

export function createAuditApi(deps: AuditApiDeps): AuditApi {
  return {
    async handle(method, target, res, who) {
      allowMethods(method, ['GET']);
      if (!mayReadAudit(deps.readers, who)) {
        throw new KubegateError(
          'KG_AUDIT_NOT_A_READER',
          `${who.user} may not read the audit trail; kubegate's operators grant it with audit.readers in its config`,
        );
      }
      const { parts } = target;
      if (parts.length === 1) {
        const items = [...(await deps.reader.query(auditQueryOf(target.query)))].reverse();
        const answer: AuditRecordList = { kind: 'AuditRecordList', apiVersion: API_VERSION, items };
        sendJson(res, 200, answer);
        return;
      }
      if (parts.length === 2 && parts[1] === 'verify') {
        const answer: AuditVerification = {
          kind: 'AuditVerification',
          apiVersion: API_VERSION,
          ...(await deps.verifier.status()),
        };
        sendJson(res, 200, answer);
        return;
      }
      throw new KubegateError('KG_API_NOT_FOUND', `no such kubegate API path: ${printable(target.path)}`);
    },
  };
}
