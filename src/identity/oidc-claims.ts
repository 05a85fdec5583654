// An OpenID Connect ID token's claims → who the caller is, as the API server's OIDC
// authenticator maps them (its --oidc-username-claim, -prefix, --oidc-groups-claim, -prefix and
// --oidc-required-claim flags), made strict where a name could not travel upstream unchanged.
// Pure: the claims arrive verified (oidc-issuer.ts checked signature, iss, aud and times).
// Input: the verified claims and the issuer's mapping. Output: an Identity with the issuer and
// `sub`, or KG_AUTHN_OIDC_INVALID saying what the token lacks. Must never guess a name, never
// let a claim turn into a `system:` user or group, and never put a claim's value in a message
// (the message goes to whoever presented the token, and is recorded in the audit trail).
//
// Where kubegate is stricter than the API server, on purpose:
//   - usernameClaim email: email_verified must be present and true. The API server accepts a
//     token without email_verified; an unverified address (an IdP that lets users set their own
//     email) would then name someone else.
//   - every user and group name must be printable ASCII: kubegate sends them as
//     Impersonate-User/-Group header values, which Node writes as Latin-1, so any other
//     character would reach the API server changed (or not at all).
//   - no `system:` name: an IdP's group called system:masters must not become the cluster's
//     administrators through kubegate's impersonation rights.
import { decodeJwt } from 'jose';
import type { JWTPayload } from 'jose';
import { KubegateError } from '../errors.js';
import { nameProblem } from './subject-names.js';
import type { Identity } from './types.js';

/** How an issuer's claims name the caller (config's identity.oidc[], defaults resolved). */
export interface ClaimMapping {
  readonly issuerUrl: string;
  readonly usernameClaim: string;
  /** '' for none. */
  readonly usernamePrefix: string;
  readonly groupsClaim?: string | undefined;
  readonly groupsPrefix: string;
  readonly requiredClaims: Readonly<Record<string, string>>;
  /**
   * The claim naming the person an agent acts for (identity.agents.onBehalfOfClaim): read here,
   * kept only if the config marks the caller as an agent (agents.ts).
   */
  readonly onBehalfOfClaim?: string | undefined;
}

/** What a kubectl user does when their ID token is refused for what it says. */
const SIGN_IN_AGAIN = 'Sign in again; if it persists, tell the kubegate operators.';

/** A refusal of an ID token, in the words kubectl prints after "You must be logged in". */
export function oidcInvalid(why: string, cause?: unknown): KubegateError {
  return new KubegateError(
    'KG_AUTHN_OIDC_INVALID',
    `kubegate could not authenticate you: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

// Three base64url parts (the third, the signature, may be empty for alg none, which is refused
// later with its own message): the shape of a compact JWS. Anything else is not an OIDC token.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/u;

/**
 * The `iss` of a bearer token that looks like a JWT, or null for any other token (a kubegate
 * token, garbage): those are never tried against an issuer, so they never reach the network.
 */
export function issuerOf(token: string): string | null {
  if (!COMPACT_JWS.test(token)) return null;
  let claims: JWTPayload;
  try {
    claims = decodeJwt(token);
  } catch {
    return null;
  }
  return typeof claims.iss === 'string' && claims.iss !== '' ? claims.iss : null;
}

/** A token's claims → its Identity, or KG_AUTHN_OIDC_INVALID naming what is wrong. */
export function identityFromClaims(claims: JWTPayload, mapping: ClaimMapping): Identity {
  const from = `your ID token from ${mapping.issuerUrl}`;
  for (const [claim, value] of Object.entries(mapping.requiredClaims)) {
    if (claims[claim] !== value) {
      throw oidcInvalid(
        `${from} does not carry the value kubegate requires in its ${JSON.stringify(claim)} claim, so it is not accepted here. Sign in with the account your organisation uses for this cluster.`,
      );
    }
  }
  const subject = claims.sub;
  if (typeof subject !== 'string' || subject === '') {
    throw oidcInvalid(`${from} has no subject (sub claim). ${SIGN_IN_AGAIN}`);
  }
  const name = claims[mapping.usernameClaim];
  if (typeof name !== 'string' || name === '') {
    throw oidcInvalid(
      `${from} has no ${JSON.stringify(mapping.usernameClaim)} claim (a non-empty string), which kubegate reads as your user name. Tell the kubegate operators: the identity provider must put it in ID tokens (for email, sign in with the email scope).`,
    );
  }
  if (mapping.usernameClaim === 'email' && claims.email_verified !== true) {
    throw oidcInvalid(
      `${from} does not say your email address is verified (email_verified is not true), so kubegate cannot use it as your user name. Verify the address with your identity provider, then sign in again.`,
    );
  }
  const user = mapping.usernamePrefix + name;
  const groups = groupsOf(claims, mapping, from).map((group) => mapping.groupsPrefix + group);
  const problem = [user, ...groups].map((n, i) => unusable(n, i > 0)).find((p) => p !== null);
  if (problem !== undefined) {
    throw oidcInvalid(
      `${from} names a user or group that kubegate cannot pass on to the API server unchanged (${problem}). Tell the kubegate operators: map another claim, or set a prefix.`,
    );
  }
  const onBehalfOf = onBehalfOfIn(claims, mapping, from);
  return Object.freeze({
    user,
    groups: Object.freeze(groups),
    method: 'oidc',
    oidc: Object.freeze({ issuer: mapping.issuerUrl, subject }),
    ...(onBehalfOf === null ? {} : { onBehalfOf }),
  });
}

/**
 * The person an agent's token says it acts for, or null when the claim is not configured or
 * absent. A value that could not be shown as it is (not a string, control characters) refuses
 * the token: an audit record must not name a person differently from the token.
 */
function onBehalfOfIn(claims: JWTPayload, mapping: ClaimMapping, from: string): string | null {
  if (mapping.onBehalfOfClaim === undefined) return null;
  const value = claims[mapping.onBehalfOfClaim];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || unusable(value, false) !== null) {
    throw oidcInvalid(
      `${from} has a ${JSON.stringify(mapping.onBehalfOfClaim)} claim (the person an agent acts for) that is not a usable name. Tell the kubegate operators: check the identity provider's mapping of that claim.`,
    );
  }
  return value;
}

function groupsOf(claims: JWTPayload, mapping: ClaimMapping, from: string): readonly string[] {
  if (mapping.groupsClaim === undefined) return [];
  const value = claims[mapping.groupsClaim];
  // As the API server: an absent (or null) claim is no groups, a single string is one group.
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((g): g is string => typeof g === 'string')) return value;
  throw oidcInvalid(
    `${from} has a ${JSON.stringify(mapping.groupsClaim)} claim that is not a list of group names, so kubegate cannot tell your groups. Tell the kubegate operators: check the identity provider's groups mapping.`,
  );
}

// Printable ASCII only: see the header (header values are sent as Latin-1).
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/u;

/** Why a user (or group) name cannot be used, in words that do not repeat the name, or null. */
function unusable(name: string, isGroup: boolean): string | null {
  const what = isGroup ? 'a group' : 'the user name';
  const problem = nameProblem(name);
  if (problem !== null) return `${what} ${problem}`;
  if (!PRINTABLE_ASCII.test(name)) return `${what} holds characters other than printable ASCII`;
  if (isGroup && name.includes(',')) return `${what} holds a comma`;
  if (name.startsWith('system:')) return `${what} starts with system:, which Kubernetes reserves`;
  return null;
}
