// Every error kubegate shows a client: the gateway's answers to kubectl, kubegate's own API
// (/kubegate/v1/, the UI) and the CLI. Each code is stable (KG_<AREA>_<WHAT>) and never changes
// meaning; docs/ERRORS.md lists them. toStatus is the only way an error becomes a client's answer:
// a Kubernetes Status body that kubectl prints as "Error from server (<reason>): <message>"
// (gateway/respond.ts writes it, with the code in X-Kubegate-Error-Code).

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
  | 'Conflict'
  | 'ApprovalRequired';

interface ErrorSpec {
  readonly status: number;
  readonly reason: StatusReason;
  /**
   * A stable word for programs, sent as the Status's details.causes[0].reason (the reviewer API's
   * refusals: the CLI and the UI read them, and ReviewRefusal in approvals/types.ts names them).
   */
  readonly cause?: string;
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
  KG_AUTHN_OIDC_INVALID: { status: 401, reason: 'Unauthorized' },
  KG_AUTHN_OIDC_EXPIRED: { status: 401, reason: 'Unauthorized' },
  KG_AUTHN_OIDC_UNAVAILABLE: { status: 401, reason: 'Unauthorized' },
  KG_AUTHN_CSRF: { status: 403, reason: 'Forbidden' },
  KG_AUTHN_SIGN_IN_FAILED: { status: 401, reason: 'Unauthorized' },
  KG_AUTHN_SIGN_IN_UNAVAILABLE: { status: 503, reason: 'ServiceUnavailable' },
  KG_POLICY_DENIED: { status: 403, reason: 'Forbidden' },
  KG_POLICY_UNAVAILABLE: { status: 403, reason: 'Forbidden' },
  KG_POLICY_CHANGED: { status: 403, reason: 'Forbidden' },
  KG_APPROVAL_REQUIRED: { status: 403, reason: 'ApprovalRequired' },
  KG_APPROVAL_DENIED: { status: 403, reason: 'Forbidden' },
  KG_APPROVAL_EXPIRED: { status: 403, reason: 'Forbidden' },
  KG_APPROVAL_WITHDRAWN: { status: 403, reason: 'Forbidden' },
  KG_UPSTREAM_UNAVAILABLE: { status: 503, reason: 'ServiceUnavailable' },
  KG_UPSTREAM_TIMEOUT: { status: 504, reason: 'Timeout' },
  KG_AUDIT_UNAVAILABLE: { status: 503, reason: 'ServiceUnavailable' },
  KG_STORE_UNAVAILABLE: { status: 503, reason: 'ServiceUnavailable' },
  KG_AUDIT_NOT_A_READER: { status: 403, reason: 'Forbidden', cause: 'not-an-audit-reader' },
  KG_POLICY_NOT_CONFIGURED: { status: 409, reason: 'Conflict' },
  KG_REVIEW_NOT_FOUND: { status: 404, reason: 'NotFound', cause: 'not-found' },
  KG_REVIEW_OWN_REQUEST: { status: 403, reason: 'Forbidden', cause: 'own-request' },
  KG_REVIEW_NOT_AN_APPROVER: { status: 403, reason: 'Forbidden', cause: 'not-an-approver' },
  KG_REVIEW_BREAK_GLASS_NOT_ALLOWED: { status: 403, reason: 'Forbidden', cause: 'break-glass-not-allowed' },
  KG_REVIEW_BREAK_GLASS_NEEDS_REASON: {
    status: 400,
    reason: 'BadRequest',
    cause: 'break-glass-needs-reason',
  },
  KG_REVIEW_STANDING_NOT_ALLOWED: { status: 403, reason: 'Forbidden', cause: 'standing-not-allowed' },
  KG_REVIEW_ALREADY_REVIEWED: { status: 409, reason: 'Conflict', cause: 'already-reviewed' },
  KG_REVIEW_NOT_PENDING: { status: 409, reason: 'Conflict', cause: 'not-pending' },
  KG_REVIEW_NOT_REQUESTER: { status: 403, reason: 'Forbidden', cause: 'not-requester' },
  KG_API_NOT_FOUND: { status: 404, reason: 'NotFound' },
  KG_API_METHOD: { status: 405, reason: 'MethodNotAllowed' },
  KG_API_BAD_REQUEST: { status: 400, reason: 'BadRequest' },
  KG_API_MEDIA_TYPE: { status: 415, reason: 'UnsupportedMediaType' },
  KG_API_BODY_TOO_LARGE: { status: 413, reason: 'RequestEntityTooLarge' },
  KG_UI_NOT_BUILT: { status: 503, reason: 'ServiceUnavailable' },
  KG_CLI_NO_ANSWER: { status: 503, reason: 'ServiceUnavailable' },
  KG_LOGIN_IDP_UNREACHABLE: { status: 503, reason: 'ServiceUnavailable' },
  KG_LOGIN_UNKNOWN_CLIENT: { status: 401, reason: 'Unauthorized' },
  KG_LOGIN_EXPIRED: { status: 401, reason: 'Unauthorized' },
  KG_LOGIN_CANCELLED: { status: 401, reason: 'Unauthorized' },
  KG_LOGIN_TIMEOUT: { status: 504, reason: 'Timeout' },
  KG_LOGIN_FAILED: { status: 401, reason: 'Unauthorized' },
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
  /** For a 405 (KG_API_METHOD): the methods the path takes, sent as Allow. */
  readonly allow: readonly string[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: StatusDetails; allow?: readonly string[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KubegateError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.reason = ERROR_CODES[code].reason;
    const cause = (ERROR_CODES[code] as ErrorSpec).cause;
    this.details =
      options?.details ?? (cause === undefined ? undefined : { causes: [{ reason: cause, message }] });
    this.allow = options?.allow;
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/**
 * The response header that names the code of a Status kubegate wrote (the body has no field for
 * it: it is the API server's Status). The CLI reads it back; operators see it with curl -i.
 */
export const ERROR_CODE_HEADER = 'x-kubegate-error-code';

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

/**
 * A failure, in a few words for a message: a KubegateError's own message; below kubegate (a
 * socket, TLS, undici) the system's code where there is one (ECONNREFUSED,
 * UND_ERR_CONNECT_TIMEOUT, also when undici wraps it in `cause`), else the error's message, else
 * `fallback`.
 */
export function describeFailure(err: unknown, fallback: string): string {
  if (err instanceof KubegateError) return err.message;
  const code =
    (err as { code?: unknown; cause?: { code?: unknown } } | null)?.cause?.code ??
    (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : fallback;
}
