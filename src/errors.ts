// Every error kubegate shows a client. Each code is stable (KG_<AREA>_<WHAT>) and never changes
// meaning; docs/ERRORS.md lists them. toStatus is the only way an error reaches a client: a
// Kubernetes Status body that kubectl prints as "Error from server (<reason>): <message>".

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'InternalError'
  | 'ApprovalRequired';

interface ErrorSpec {
  readonly status: number;
  readonly reason: StatusReason;
}

/** The table of codes: one row per code, its HTTP status and Status reason. */
export const ERROR_CODES = {
  KG_REQUEST_NONCANONICAL: { status: 400, reason: 'BadRequest' },
  KG_REQUEST_METHOD: { status: 405, reason: 'MethodNotAllowed' },
  KG_REQUEST_BODY_TOO_LARGE: { status: 413, reason: 'RequestEntityTooLarge' },
  KG_REQUEST_BODY_INVALID: { status: 400, reason: 'BadRequest' },
  KG_REQUEST_BODY_UNSUPPORTED: { status: 400, reason: 'BadRequest' },
  KG_REQUEST_IMPERSONATION: { status: 400, reason: 'BadRequest' },
  KG_AUTHN_MISSING: { status: 401, reason: 'Unauthorized' },
  KG_AUTHN_TOKEN_INVALID: { status: 401, reason: 'Unauthorized' },
  KG_AUTHN_CERT_INVALID: { status: 401, reason: 'Unauthorized' },
  KG_AUTHN_CSRF: { status: 403, reason: 'Forbidden' },
  KG_POLICY_DENIED: { status: 403, reason: 'Forbidden' },
  KG_POLICY_UNAVAILABLE: { status: 403, reason: 'Forbidden' },
  KG_POLICY_CHANGED: { status: 403, reason: 'Forbidden' },
  KG_APPROVAL_REQUIRED: { status: 403, reason: 'ApprovalRequired' },
  KG_APPROVAL_DENIED: { status: 403, reason: 'Forbidden' },
  KG_APPROVAL_EXPIRED: { status: 403, reason: 'Forbidden' },
  KG_UPSTREAM_UNAVAILABLE: { status: 503, reason: 'ServiceUnavailable' },
  KG_UPSTREAM_TIMEOUT: { status: 504, reason: 'Timeout' },
  KG_AUDIT_UNAVAILABLE: { status: 503, reason: 'ServiceUnavailable' },
  KG_CONFIG_INVALID: { status: 500, reason: 'InternalError' },
  KG_INTERNAL: { status: 500, reason: 'InternalError' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: readonly {
    readonly reason?: string;
    readonly message: string;
    readonly field?: string;
  }[];
}

export class KubegateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: StatusDetails }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KubegateError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.reason = ERROR_CODES[code].reason;
    this.details = options?.details;
  }
}

/** A Kubernetes meta/v1 Status, as the API server writes it. */
export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: StatusReason;
  readonly code: number;
  readonly details?: StatusDetails;
}

/**
 * The only path from an error to a client. Unknown errors become a 500 without their message
 * (it may hold internals); callers log them as bugs.
 */
export function toStatus(err: unknown): Status {
  if (err instanceof KubegateError) {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: err.message,
      reason: err.reason,
      code: err.status,
      ...(err.details ? { details: err.details } : {}),
    };
  }
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message:
      'kubegate hit an internal error; the request was not forwarded. Retry, and report it if it persists.',
    reason: 'InternalError',
    code: 500,
  };
}
