// Redaction: credentials never reach a reviewer-visible or stored copy of a request. Used by the
// reviewer context before it is stored (context.ts), by the REST API and its live event stream
// before anything is sent (api.ts), and on the request body kubegate renders as a kubectl command
// (the pending request's summary). Input: an object, a text, or a whole ReviewerContext, and what
// the request targets. Output: the same shape with credential-bearing values replaced by markers.
// Must never let a value through because its shape is new: the rules below look at what a value
// is called and what it looks like, not only at known kinds; and it must never throw (a value it
// cannot read stays as it is only when it is not a string).
//
// Rules, for objects (a value is replaced whole):
//   1. Secret (v1, or any object when the request targets core `secrets`): every value of `data`
//      and `stringData`, and the `kubectl.kubernetes.io/last-applied-configuration` annotation
//      (kubectl apply copies the whole Secret, data included, into it).
//   2. Any string under a credential key, anywhere: token, password, passwd, client-key-data,
//      client-secret, id-token, refresh-token, access-token, api-key, private-key (compared
//      without case, `-` or `_`). This covers TokenRequest `status.token`, a ServiceAccount
//      token Secret, and a kubeconfig stored as an object.
//   3. Any string that holds a credential (the text rules below), read as it is and, when it is
//      base64 of text, decoded: a kubeconfig in a ConfigMap, in binaryData, or in an annotation.
// Rules, for text (only the credential is replaced; used on notes, messages, diffs):
//   a. a PEM private key block (`-----BEGIN … PRIVATE KEY-----` to its END line, or to the end);
//   b. a JWT (`eyJ…` header, two dots): service account and OIDC tokens;
//   c. `key: value`, `"key": "value"` or `key=value` for a credential key of rule 2 (YAML,
//      JSON, env files, kubeconfigs): the value, to the end of the line or its closing quote.
// A marker reads `(redacted <12 hex>)`: an HMAC of the value under a key made for one context and
// then forgotten, so equal values on both sides of a diff still look equal and a changed value
// looks changed, but no marker can be checked against a guessed value. A marker is never
// redacted again, so redacting twice changes nothing (the API re-checks what the store holds).
import { createHmac, randomBytes } from 'node:crypto';
import type { KubeRequestBody } from '../request/types.js';
import type { ReviewerContext } from './types.js';

/** What the request acts on (KubeRequest's and RequestSummary's field names). */
export interface RedactionTarget {
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
}

export interface Redactor {
  /** A copy of `value` with rules 1–3 applied; `target` says what the request acts on. */
  object(value: unknown, target: RedactionTarget): unknown;
  /** `text` with rules a–c applied. */
  text(text: string): string;
  /** True once anything has been replaced. */
  readonly redacted: boolean;
}

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** What a marker looks like; a value that is one is never redacted again. */
export const MARKER = /^\(redacted [0-9a-f]{12}\)$/u;
const MARKER_PREFIX = '(redacted ';

/** The note that tells reviewers what the markers mean. */
export const REDACTION_NOTE =
  'values that are or look like credentials (Secret data, tokens, passwords, private keys, kubeconfig credentials) are shown as (redacted …): the same marker on both sides means the same value';

/**
 * Credential words: a key whose name, without case, '-' and '_', ENDS with one of these is a
 * credential key (password, dbPassword, DB_PASSWORD, id-token, client-key-data, secretAccessKey).
 */
const CREDENTIAL_WORDS = [
  'token',
  'password',
  'passwd',
  'clientkeydata',
  'clientsecret',
  'apikey',
  'privatekey',
  'secretkey',
  'accesskey',
];
/** The same words as a pattern for text, with an identifier prefix and optional separators. */
const KEY = String.raw`[A-Za-z0-9_.-]*?(?:token|passw(?:or)?d|client[-_]?key[-_]?data|client[-_]?secret|api[-_]?key|private[-_]?key|secret[-_]?key|access[-_]?key)`;

const PEM_ONE = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/u;
const PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/gu;
/**
 * Rule b works on words (runs of base64url characters and dots) tested whole: a regex that
 * searched for `eyJ…` inside a long run would backtrack over it once per `eyJ` (quadratic on an
 * attacker's 3 MiB ConfigMap); these two are linear.
 */
const WORD = /[A-Za-z0-9_.-]+/gu;
const JWT_WORD = /^eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*$/u;
/** A quoted value: `\"…\"` (inside a JSON string), `"…"` or `'…'`. */
const QUOTED = String.raw`\\"(?:(?!\\")[^\n])*\\"|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'`;
/**
 * Rule c: a credential key where a key stands (not inside a longer identifier), quoted or not
 * (also `\"key\"` inside a JSON string), then its value: quoted, or after `:` (YAML, JSON) the
 * rest of the line up to a `,` or `}` (spaces included), or after `=` (env files, query strings)
 * up to a space, `&`, `;`, `,` or `}`.
 */
const KEY_VALUE = new RegExp(
  String.raw`(^|[^A-Za-z0-9_.\-])(\\?["']?)(${KEY})\2(?:(\s*:[ \t]*)(${QUOTED}|[^\s,}"'\\][^\n,}]*)|(\s*=[ \t]*)(${QUOTED}|[^\s&;,}"'\\][^\s&;,}]*))`,
  'giu',
);
/** A YAML block scalar under a credential key: `password: |` and the more indented lines after it. */
const KEY_BLOCK = new RegExp(
  String.raw`(^|\n)([ \t]*)((?:- )?["']?${KEY}["']?[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*)((?:\n(?:\2[ \t]+[^\n]*|[ \t]*(?=\n)))+)`,
  'giu',
);
/** Values of rule c that are not credentials: YAML's booleans and null. */
const NOT_A_VALUE = /^(?:true|false|null|~|[|>][-+0-9]*)$/iu;
const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/u;
const MIN_BASE64 = 24;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isCredentialKey(key: string): boolean {
  const normal = key.toLowerCase().replace(/[-_]/gu, '');
  return CREDENTIAL_WORDS.some((word) => normal.endsWith(word));
}

/** A quoted value's quote (`"`, `'` or `\"`), or ''. */
function quoteOf(value: string): string {
  return /^(\\?["'])/u.exec(value)?.[1] ?? '';
}

function unquoted(value: string): string {
  const q = quoteOf(value);
  return q === '' ? value.trim() : value.slice(q.length, value.endsWith(q) ? -q.length : undefined);
}

/** A value of rule c that is worth replacing. */
function isSecretValue(value: string): boolean {
  const bare = unquoted(value);
  return bare !== '' && !bare.startsWith(MARKER_PREFIX) && !NOT_A_VALUE.test(bare);
}

/** True when a text holds something the text rules would replace. */
function textHoldsCredential(value: string): boolean {
  if (PEM_ONE.test(value)) return true;
  for (const [word] of value.matchAll(WORD)) if (JWT_WORD.test(word)) return true;
  for (const m of value.matchAll(KEY_BLOCK)) if ((m[4] ?? '').trim() !== '') return true;
  for (const m of value.matchAll(KEY_VALUE)) if (isSecretValue(m[5] ?? m[7] ?? '')) return true;
  return false;
}

/** A new redactor with its own marker key; use one per context, so both sides of a diff agree. */
export function createRedactor(): Redactor {
  const key = randomBytes(32);
  let redacted = false;
  const marker = (value: unknown): string => {
    redacted = true;
    const mac = createHmac('sha256', key).update(JSON.stringify(value)).digest('hex');
    return `${MARKER_PREFIX}${mac.slice(0, 12)})`;
  };

  function text(input: string): string {
    let out = input.replace(PEM, (block) => marker(block));
    out = out.replace(WORD, (word) => (JWT_WORD.test(word) ? marker(word) : word));
    out = out.replace(KEY_BLOCK, (whole, lead: string, indent: string, head: string, body: string) =>
      body.trim() === '' ? whole : `${lead}${indent}${head}\n${indent}  ${marker(body)}`,
    );
    out = out.replace(
      KEY_VALUE,
      (
        whole: string,
        lead: string,
        quote: string,
        name: string,
        colon: string | undefined,
        afterColon: string | undefined,
        equals: string | undefined,
        afterEquals: string | undefined,
      ) => {
        const sep = colon ?? equals ?? '';
        const value = afterColon ?? afterEquals ?? '';
        if (!isSecretValue(value)) return whole;
        const q = quoteOf(value);
        return `${lead}${quote}${name}${quote}${sep}${q}${marker(unquoted(value))}${q}`;
      },
    );
    return out;
  }

  /** Rule 3: the string is, or decodes from base64 to, text that holds a credential. */
  function holdsCredential(value: string): boolean {
    if (MARKER.test(value)) return false;
    if (textHoldsCredential(value)) return true;
    if (value.length < MIN_BASE64 || !BASE64.test(value)) return false;
    const decoded = Buffer.from(value.replace(/\s/gu, ''), 'base64').toString('utf8');
    return !decoded.includes('\uFFFD') && textHoldsCredential(decoded);
  }

  function walk(value: unknown, underCredentialKey: boolean): unknown {
    if (typeof value === 'string') {
      if (MARKER.test(value) || value === '') return value;
      return underCredentialKey || holdsCredential(value) ? marker(value) : value;
    }
    if (typeof value === 'number' && underCredentialKey) return marker(value);
    if (Array.isArray(value)) return value.map((v) => walk(v, underCredentialKey));
    if (!isRecord(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, isCredentialKey(k));
    return out;
  }

  function secret(value: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { ...value };
    for (const field of ['data', 'stringData']) {
      const values = out[field];
      if (isRecord(values)) {
        out[field] = Object.fromEntries(
          Object.entries(values).map(([k, v]) => [
            k,
            typeof v === 'string' && MARKER.test(v) ? v : marker(v),
          ]),
        );
      }
    }
    const metadata = isRecord(out.metadata) ? out.metadata : null;
    const annotations = metadata !== null && isRecord(metadata.annotations) ? metadata.annotations : null;
    const lastApplied = annotations?.[LAST_APPLIED];
    if (metadata !== null && annotations !== null && lastApplied !== undefined) {
      const kept = typeof lastApplied === 'string' && MARKER.test(lastApplied);
      out.metadata = {
        ...metadata,
        annotations: { ...annotations, [LAST_APPLIED]: kept ? lastApplied : marker(lastApplied) },
      };
    }
    return out;
  }

  function object(value: unknown, target: RedactionTarget): unknown {
    const targetsSecrets = target.apiGroup === '' && target.resource === 'secrets';
    const one = (item: unknown, secretHint: boolean): unknown => {
      if (!isRecord(item)) return walk(item, false);
      const isSecret = secretHint || (item.kind === 'Secret' && item.apiVersion === 'v1');
      // A list (SecretList, or a List of mixed kinds) is judged item by item.
      const items = Array.isArray(item.items) ? item.items : null;
      const base = isSecret ? secret(item) : item;
      const walked = walk(items === null ? base : { ...base, items: [] }, false) as Record<string, unknown>;
      if (items !== null) walked.items = items.map((i) => one(i, targetsSecrets));
      return walked;
    };
    // A Secret request's subresources (none today) and lists are still Secrets.
    return one(value, targetsSecrets && !(isRecord(value) && Array.isArray(value.items)));
  }

  return {
    object,
    text,
    get redacted() {
      return redacted;
    },
  };
}

/**
 * A reviewer context with every rule applied: the dry-run object, the diff, the notes and the
 * dry run's message. Idempotent; adds REDACTION_NOTE when it replaced anything (once).
 */
export function redactContext(
  context: ReviewerContext,
  target: RedactionTarget,
  redactor: Redactor = createRedactor(),
): ReviewerContext {
  const dryRun =
    context.dryRun === null
      ? null
      : {
          status: context.dryRun.status,
          object: redactor.object(context.dryRun.object, target),
          message: context.dryRun.message === null ? null : redactor.text(context.dryRun.message),
        };
  const diff = context.diff === null ? null : redactor.text(context.diff);
  const notes = context.notes.map((n) => redactor.text(n));
  if (redactor.redacted && !notes.includes(REDACTION_NOTE)) notes.push(REDACTION_NOTE);
  return { ...context, dryRun, diff, notes };
}

/** A request body with its object redacted (for the kubectl command rendered from it). */
export function redactBody(body: KubeRequestBody, target: RedactionTarget): KubeRequestBody {
  if (body.object === null) return body;
  const redactor = createRedactor();
  return { ...body, object: redactor.object(body.object, target) as KubeRequestBody['object'] };
}
