// KubeRequest: what the API server will understand a request to be. Produced by parse (request
// head) and completed by withBody (request body); read by every later stage. Nothing outside
// src/request splits a URL path or a query: read these fields instead.

/** HTTP methods kubegate forwards at all; anything else is refused before parsing. */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** Transport of a connect request (exec, attach, portforward, proxy) that asks for an upgrade. */
export type Upgrade = 'websocket' | 'spdy' | null;

/** DeleteOptions as the API server reads them: from the JSON body when one is present, else the query. */
export interface DeleteOptions {
  readonly dryRun: readonly string[];
  readonly gracePeriodSeconds: number | null;
  readonly propagationPolicy: string | null;
  readonly orphanDependents: boolean | null;
}

export interface KubeRequest {
  /** HTTP method as received; forwarded unchanged. */
  readonly method: HttpMethod;
  /** The request target's path exactly as received (still percent-encoded); forwarded unchanged. */
  readonly path: string;
  /** The raw query string without '?', exactly as received ('' when none); forwarded unchanged. */
  readonly rawQuery: string;

  /** The API server's RequestInfo fields (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go). */
  readonly isResourceRequest: boolean;
  /**
   * Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection, proxy, …).
   * For non-resource requests, the lower-cased HTTP method. exec/attach/portforward are reported as
   * 'create' whatever their transport (WebSocket GET or SPDY POST): they are one action.
   */
  readonly verb: string;
  /** 'api' or 'apis' for resource requests, '' otherwise. */
  readonly apiPrefix: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly resource: string;
  readonly subresource: string;
  readonly name: string;
  /** Decoded path segments after the namespace (resource, name, subresource, …). */
  readonly parts: readonly string[];

  /** Go's URL.Query(): first value wins, pairs with ';' dropped, '+' is a space. */
  readonly query: Readonly<Record<string, readonly string[]>>;
  /** First labelSelector / fieldSelector value ('' when absent), whatever the verb. */
  readonly labelSelector: string;
  readonly fieldSelector: string;

  /** Media type of the body without parameters, lower-cased ('' when none). */
  readonly contentType: string;
  readonly upgrade: Upgrade;
  /** kubectl's own description of the command (untrusted, informational). */
  readonly kubectlCommand: string;
  readonly kubectlSession: string;
}

/** What the body adds; produced by withBody once the body is read (size-limited). */
export interface KubeRequestBody {
  /** sha256 hex of the exact body bytes ('' when there is no body). */
  readonly digest: string;
  readonly size: number;
  /**
   * The body of a create/update/patch as an object: parsed JSON or YAML, or for a protobuf body
   * only `{apiVersion, kind, metadata: {name, generateName, namespace, labels, annotations}}`
   * (see objectSource). null when there is none or it cannot be read.
   */
  readonly object: Readonly<Record<string, unknown>> | null;
  /**
   * How `object` was read: 'json' or 'yaml' (the whole body), 'protobuf-metadata' (a protobuf body
   * of which only apiVersion, kind and part of metadata are known: `spec`, `data` and the rest are
   * absent, not empty), null when `object` is null. Optional only so that bodies built by hand
   * for an empty request can omit it; withBody always sets it.
   */
  readonly objectSource?: 'json' | 'yaml' | 'protobuf-metadata' | null;
  /** For DELETE: the options the API server will apply (body first, query when the body is empty). */
  readonly deleteOptions: DeleteOptions | null;
}

/** A request with its body read: what decide, hold, forward and audit receive. */
export interface ParsedRequest {
  readonly request: KubeRequest;
  readonly body: KubeRequestBody;
}
