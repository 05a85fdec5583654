// withBody: a KubeRequest plus its (size-limited, fully read) body → KubeRequestBody.
//
// Place in the pipeline: the end of stage 2, once the gateway has read the body; decide, hold,
// forward and audit receive its result.
// Input: the parsed KubeRequest and the exact body bytes. Output: digest, size, the object for
// create/update/patch with how it was read (objectSource), and the DeleteOptions the API server
// will apply for delete and deletecollection.
// A protobuf body (kubectl ≥ 1.32 sends them for `create <generator>`, `create token`, `auth
// can-i`) yields only apiVersion, kind and ObjectMeta's name, generateName, namespace, labels and
// annotations (protobuf-meta.ts): enough for names and objectSelector, while CEL's `body.spec`
// and every other field are absent. Such an object has objectSource 'protobuf-metadata'.
// A YAML body (application/yaml, application/apply-patch+yaml) is read as sigs.k8s.io/yaml reads
// it, and refused (KG_REQUEST_BODY_UNSUPPORTED) where that reading is not certain (yaml-body.ts).
// Must never: alter the bytes (they are forwarded as read), or report delete options the API
// server would not apply: options come from the body when it is non-empty, otherwise from the
// query, never a mix. A DELETE body the API server would reject is refused here too.

import { createHash } from 'node:crypto';
import { KubegateError } from '../errors.js';
import { queryBool } from './list-options.js';
import { decodeProtobufMetadata } from './protobuf-meta.js';
import { isGoInt64 } from './selectors.js';
import type { DeleteOptions, KubeRequest, KubeRequestBody } from './types.js';
import { readYamlBody } from './yaml-body.js';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type ObjectSource = KubeRequestBody['objectSource'];

/** How the API server will decode a body of this media type ('' means JSON, as the server defaults). */
function bodyFormat(contentType: string): 'json' | 'yaml' | 'protobuf' | 'other' {
  if (contentType === '' || contentType === 'application/json' || contentType.endsWith('+json'))
    return 'json';
  if (contentType === 'application/yaml' || contentType === 'application/apply-patch+yaml') return 'yaml';
  if (contentType === 'application/vnd.kubernetes.protobuf') return 'protobuf';
  return 'other';
}

/**
 * The body as the API server will decode it. JSON bodies with JSON.parse; YAML bodies as
 * sigs.k8s.io/yaml reads them, or refused with KG_REQUEST_BODY_UNSUPPORTED (yaml-body.ts).
 * `source` says which parser read it. Throws a SyntaxError when a JSON body does not parse.
 */
function decode(format: 'json' | 'yaml', body: Buffer): { value: unknown; source: 'json' | 'yaml' } {
  if (format === 'json') return { value: JSON.parse(body.toString('utf8')) as unknown, source: 'json' };
  return readYamlBody(body);
}

interface ReadObject {
  readonly object: JsonObject | null;
  readonly objectSource: ObjectSource;
}

const NO_OBJECT: ReadObject = { object: null, objectSource: null };

function objectOf(verb: string, contentType: string, body: Buffer): ReadObject {
  const format = bodyFormat(contentType);
  if (format === 'protobuf') {
    // The API server takes protobuf for create and update only; patch types are JSON or YAML.
    if (verb === 'patch') return NO_OBJECT;
    const decoded = decodeProtobufMetadata(body);
    return decoded === null ? NO_OBJECT : { object: { ...decoded }, objectSource: 'protobuf-metadata' };
  }
  if (format === 'other') return NO_OBJECT; // CBOR, …: not readable here
  let read: { value: unknown; source: 'json' | 'yaml' };
  try {
    read = decode(format, body);
  } catch (err) {
    if (err instanceof KubegateError) throw err; // a YAML body kubegate refuses to guess at
    return NO_OBJECT; // the API server rejects an unparseable body too
  }
  return isObject(read.value)
    ? { object: withMetadataNulls(read.value), objectSource: read.source }
    : NO_OBJECT;
}

/**
 * ObjectMeta's labels and annotations are map[string]string, for every kind (custom resources'
 * metadata goes through metav1.ObjectMeta too: apiextensions' objectmeta/coerce.go). Decoding a
 * JSON null into such a map stores "" under the key, so `labels: {env: null}` (YAML `env: ~`)
 * creates the label env="": the object kubegate reads must have it too, or an objectSelector on
 * env (Exists, or env="") would not see it.
 */
function withMetadataNulls(object: JsonObject): JsonObject {
  const metadata = object['metadata'];
  if (!isObject(metadata)) return object;
  for (const field of ['labels', 'annotations']) {
    const map = metadata[field];
    if (!isObject(map)) continue;
    for (const [key, value] of Object.entries(map)) if (value === null) map[key] = '';
  }
  return object;
}

function invalidBody(reason: string, cause?: unknown): never {
  throw new KubegateError(
    'KG_REQUEST_BODY_INVALID',
    `kubegate refused the DELETE request body: ${reason}. The API server would reject it too; send DeleteOptions as a JSON object.`,
    cause === undefined ? undefined : { cause },
  );
}

function deleteOptionsFromBody(contentType: string, body: Buffer): DeleteOptions {
  const format = bodyFormat(contentType);
  if (format === 'other' || format === 'protobuf')
    invalidBody(`its media type "${contentType.slice(0, 100)}" cannot be read by kubegate`);
  let value: unknown;
  try {
    value = decode(format, body).value;
  } catch (err) {
    if (err instanceof KubegateError) throw err;
    invalidBody(`it is not valid ${format === 'json' ? 'JSON' : 'YAML'}`, err);
  }
  if (!isObject(value)) invalidBody('it is not a JSON object');
  const kind = value['kind'];
  if (kind !== undefined && kind !== 'DeleteOptions') invalidBody('its "kind" is not DeleteOptions');

  const dryRun = value['dryRun'];
  if (dryRun !== undefined && dryRun !== null) {
    if (!Array.isArray(dryRun) || !dryRun.every((v) => typeof v === 'string')) {
      invalidBody('"dryRun" is not a list of strings');
    }
  }
  const grace = value['gracePeriodSeconds'];
  if (grace !== undefined && grace !== null && !(typeof grace === 'number' && Number.isSafeInteger(grace))) {
    invalidBody('"gracePeriodSeconds" is not an integer');
  }
  const policy = value['propagationPolicy'];
  if (policy !== undefined && policy !== null && typeof policy !== 'string') {
    invalidBody('"propagationPolicy" is not a string');
  }
  const orphan = value['orphanDependents'];
  if (orphan !== undefined && orphan !== null && typeof orphan !== 'boolean') {
    invalidBody('"orphanDependents" is not a boolean');
  }
  return {
    dryRun: Array.isArray(dryRun) ? [...(dryRun as readonly string[])] : [],
    gracePeriodSeconds: typeof grace === 'number' ? grace : null,
    propagationPolicy: typeof policy === 'string' ? policy : null,
    orphanDependents: typeof orphan === 'boolean' ? orphan : null,
  };
}

/** Convert_url_Values_To_v1_DeleteOptions: dryRun takes every value, the rest the first value. */
function deleteOptionsFromQuery(query: KubeRequest['query']): DeleteOptions {
  const grace = query['gracePeriodSeconds']?.[0];
  let gracePeriodSeconds: number | null = null;
  if (grace !== undefined) {
    const n = Number(grace);
    if (!isGoInt64(grace) || !Number.isSafeInteger(n)) {
      throw new KubegateError(
        'KG_REQUEST_NONCANONICAL',
        'kubegate refused the request query: "gracePeriodSeconds" is not an integer, and the API server would reject it. kubectl never sends such requests; check the URL your client builds.',
      );
    }
    gracePeriodSeconds = n;
  }
  const orphan = query['orphanDependents'];
  return {
    dryRun: [...(query['dryRun'] ?? [])],
    gracePeriodSeconds,
    propagationPolicy: query['propagationPolicy']?.[0] ?? null,
    orphanDependents: orphan === undefined ? null : queryBool(orphan),
  };
}

/** Completes a request with what its body says. `body` must be the exact bytes that will be forwarded. */
export function withBody(request: KubeRequest, body: Buffer): KubeRequestBody {
  const size = body.length;
  const digest = size === 0 ? '' : createHash('sha256').update(body).digest('hex');
  const { verb } = request;
  const { object, objectSource } =
    size > 0 && (verb === 'create' || verb === 'update' || verb === 'patch')
      ? objectOf(verb, request.contentType, body)
      : NO_OBJECT;
  let deleteOptions: DeleteOptions | null = null;
  if (verb === 'delete' || verb === 'deletecollection') {
    deleteOptions =
      size > 0 ? deleteOptionsFromBody(request.contentType, body) : deleteOptionsFromQuery(request.query);
  }
  return { digest, size, object, objectSource, deleteOptions };
}

/** The object name a body carries (metadata.name), '' when none: a create names its object only there. */
export function bodyObjectName(body: KubeRequestBody | null): string {
  const metadata = body?.object?.metadata;
  if (typeof metadata !== 'object' || metadata === null) return '';
  const name = (metadata as Record<string, unknown>).name;
  return typeof name === 'string' ? name : '';
}
