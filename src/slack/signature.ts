// Slack's request signatures (api.slack.com/authentication/verifying-requests-from-slack): every
// request Slack sends carries X-Slack-Request-Timestamp and X-Slack-Signature, the latter
// `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` keyed with the app's signing secret.
//
// Place: the first step of the interactivity endpoint (interactivity.ts), before the body is
// parsed or anything is acted on. Input: the two headers, the raw body bytes, the secret and the
// clock. Output: ok, or why not.
// Must never: compare with a short-circuiting ===, a timing difference would tell an attacker how
// much of a forged signature was right; accept a timestamp more than five minutes from now (what
// Slack documents, so a captured request cannot be replayed later); accept the same signature
// twice within that window (a captured request replayed at once); put the secret in any result.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's documented window: a request older (or newer) than this is refused. */
export const SLACK_MAX_AGE_S = 5 * 60;

export type SignatureRefusal = 'missing' | 'malformed' | 'stale' | 'mismatch' | 'replay';

export type SignatureCheck =
  { readonly ok: true } | { readonly ok: false; readonly refusal: SignatureRefusal };

/** `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{body}`), as Slack computes it. */
export function slackSignature(secret: string, timestamp: string, body: Buffer | string): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(body);
  return `v0=${hmac.digest('hex')}`;
}

/**
 * Signatures seen within the window: a second request with one of them is a replay. Entries are
 * kept until their timestamp leaves the window, so memory is bounded by the request rate.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();

  /** False when `signature` was seen before; else remembers it until `expiresAtS`. */
  firstUse(signature: string, nowS: number, expiresAtS: number): boolean {
    for (const [sig, until] of this.#seen) if (until < nowS) this.#seen.delete(sig);
    if (this.#seen.has(signature)) return false;
    this.#seen.set(signature, expiresAtS);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}

export interface SignedRequest {
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: Buffer;
}

const TIMESTAMP = /^\d{1,12}$/u;
const SIGNATURE = /^v0=[0-9a-f]{64}$/u;

/**
 * Checks one request. `replays` is consulted only for a request whose signature is right, so a
 * stream of forged requests cannot fill it or burn a real request's signature.
 */
export function verifySlackRequest(
  request: SignedRequest,
  secret: string,
  nowMs: number,
  replays: ReplayGuard,
): SignatureCheck {
  const { timestamp, signature } = request;
  if (timestamp === undefined || signature === undefined) return { ok: false, refusal: 'missing' };
  if (!TIMESTAMP.test(timestamp) || !SIGNATURE.test(signature)) return { ok: false, refusal: 'malformed' };
  const nowS = Math.floor(nowMs / 1000);
  const at = Number(timestamp);
  if (Math.abs(nowS - at) > SLACK_MAX_AGE_S) return { ok: false, refusal: 'stale' };
  const want = Buffer.from(slackSignature(secret, timestamp, request.body), 'latin1');
  const got = Buffer.from(signature, 'latin1');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, refusal: 'mismatch' };
  if (!replays.firstUse(signature, nowS, at + SLACK_MAX_AGE_S)) return { ok: false, refusal: 'replay' };
  return { ok: true };
}
