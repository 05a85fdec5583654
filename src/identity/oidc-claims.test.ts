// Claims → Identity, one row per rule of the API server's OIDC flags and of kubegate's stricter
// ones; and which bearer tokens are OIDC tokens at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JWTPayload } from 'jose';
import { KubegateError } from '../errors.js';
import { identityFromClaims, issuerOf, type ClaimMapping } from './oidc-claims.js';
import type { Identity } from './types.js';

const ISSUER = 'https://idp.example.com';

const byEmail: ClaimMapping = {
  issuerUrl: ISSUER,
  usernameClaim: 'email',
  usernamePrefix: '',
  groupsClaim: 'groups',
  groupsPrefix: 'oidc:',
  requiredClaims: {},
};
const bySub: ClaimMapping = {
  issuerUrl: ISSUER,
  usernameClaim: 'sub',
  usernamePrefix: `${ISSUER}#`,
  groupsPrefix: '',
  requiredClaims: {},
};

const alice: JWTPayload = {
  iss: ISSUER,
  sub: 'u-1',
  email: 'alice@example.com',
  email_verified: true,
  groups: ['sre', 'dev'],
};

interface Row {
  readonly name: string;
  readonly claims: JWTPayload;
  readonly mapping: ClaimMapping;
  /** The identity, or the start of the refusal's reason (after "…from <issuer> "). */
  readonly want: Identity | { readonly refused: RegExp };
}

const oidc = { issuer: ISSUER, subject: 'u-1' };

const rows: readonly Row[] = [
  {
    name: 'email as the user name, unprefixed (the API server default for email), groups prefixed',
    claims: alice,
    mapping: byEmail,
    want: { user: 'alice@example.com', groups: ['oidc:sre', 'oidc:dev'], method: 'oidc', oidc },
  },
  {
    name: 'sub as the user name with the issuer prefix; no groups claim configured, no groups',
    claims: alice,
    mapping: bySub,
    want: { user: `${ISSUER}#u-1`, groups: [], method: 'oidc', oidc },
  },
  {
    name: 'a groups claim holding one string is one group (as the API server)',
    claims: { ...alice, groups: 'sre' },
    mapping: byEmail,
    want: { user: 'alice@example.com', groups: ['oidc:sre'], method: 'oidc', oidc },
  },
  {
    name: 'an absent groups claim is no groups',
    claims: { ...alice, groups: undefined },
    mapping: byEmail,
    want: { user: 'alice@example.com', groups: [], method: 'oidc', oidc },
  },
  {
    name: 'required claims with their values are accepted',
    claims: { ...alice, hd: 'example.com' },
    mapping: { ...byEmail, requiredClaims: { hd: 'example.com' } },
    want: { user: 'alice@example.com', groups: ['oidc:sre', 'oidc:dev'], method: 'oidc', oidc },
  },
  {
    name: 'a required claim with another value is refused',
    claims: { ...alice, hd: 'evil.example' },
    mapping: { ...byEmail, requiredClaims: { hd: 'example.com' } },
    want: { refused: /does not carry the value kubegate requires in its "hd" claim/u },
  },
  {
    name: 'a missing required claim is refused',
    claims: alice,
    mapping: { ...byEmail, requiredClaims: { hd: 'example.com' } },
    want: { refused: /"hd" claim/u },
  },
  {
    name: 'email_verified false is refused when the email is the user name',
    claims: { ...alice, email_verified: false },
    mapping: byEmail,
    want: { refused: /email_verified is not true/u },
  },
  {
    name: 'email_verified absent is refused too (stricter than the API server)',
    claims: { ...alice, email_verified: undefined },
    mapping: byEmail,
    want: { refused: /email_verified is not true/u },
  },
  {
    name: 'email_verified as the string "true" is not true',
    claims: { ...alice, email_verified: 'true' },
    mapping: byEmail,
    want: { refused: /email_verified is not true/u },
  },
  {
    name: 'email_verified does not matter when the user name is another claim',
    claims: { ...alice, email_verified: false },
    mapping: bySub,
    want: { user: `${ISSUER}#u-1`, groups: [], method: 'oidc', oidc },
  },
  {
    name: 'a missing user name claim is refused, naming the claim',
    claims: { ...alice, email: undefined },
    mapping: byEmail,
    want: { refused: /has no "email" claim/u },
  },
  {
    name: 'a user name claim that is not a string is refused',
    claims: { ...alice, preferred_username: ['a', 'b'] },
    mapping: { ...bySub, usernameClaim: 'preferred_username' },
    want: { refused: /has no "preferred_username" claim/u },
  },
  {
    name: 'a groups claim of the wrong type (an object) is refused',
    claims: { ...alice, groups: { admin: true } },
    mapping: byEmail,
    want: { refused: /"groups" claim that is not a list of group names/u },
  },
  {
    name: 'a groups list holding a number is refused',
    claims: { ...alice, groups: ['sre', 7] },
    mapping: byEmail,
    want: { refused: /"groups" claim that is not a list of group names/u },
  },
  {
    name: 'a token without sub is refused',
    claims: { ...alice, sub: undefined },
    mapping: byEmail,
    want: { refused: /has no subject/u },
  },
  {
    name: 'an unprefixed system: group from the IdP is refused, never impersonated',
    claims: { ...alice, groups: ['system:masters'] },
    mapping: { ...byEmail, groupsPrefix: '' },
    want: { refused: /a group starts with system:/u },
  },
  {
    name: 'a system: user name is refused',
    claims: { ...alice, preferred_username: 'system:admin' },
    mapping: { ...bySub, usernameClaim: 'preferred_username', usernamePrefix: '' },
    want: { refused: /the user name starts with system:/u },
  },
  {
    name: 'a non-ASCII user name is refused (header values travel as Latin-1)',
    claims: { ...alice, email: 'josé@example.com' },
    mapping: byEmail,
    want: { refused: /the user name holds characters other than printable ASCII/u },
  },
  {
    name: 'a group with a comma is refused',
    claims: { ...alice, groups: ['cn=sre,ou=groups'] },
    mapping: byEmail,
    want: { refused: /a group holds a comma/u },
  },
  {
    name: 'a group with a line break is refused',
    claims: { ...alice, groups: ['sre\r\nimpersonate-user: admin'] },
    mapping: byEmail,
    want: { refused: /a group must not contain control characters/u },
  },
];

for (const row of rows) {
  test(row.name, () => {
    if ('refused' in row.want) {
      assert.throws(
        () => identityFromClaims(row.claims, row.mapping),
        (err: unknown) => {
          assert.ok(err instanceof KubegateError);
          assert.equal(err.code, 'KG_AUTHN_OIDC_INVALID');
          assert.equal(err.status, 401);
          assert.match(
            err.message,
            /^kubegate could not authenticate you: your ID token from https:\/\/idp\.example\.com /u,
          );
          assert.match(err.message, (row.want as { refused: RegExp }).refused);
          return true;
        },
      );
      return;
    }
    assert.deepEqual(identityFromClaims(row.claims, row.mapping), row.want);
  });
}

test('a refusal never repeats the claim value that was refused', () => {
  assert.throws(
    () =>
      identityFromClaims(
        { ...alice, groups: ['system:secret-group-name'] },
        { ...byEmail, groupsPrefix: '' },
      ),
    (err: unknown) => err instanceof KubegateError && !err.message.includes('secret-group-name'),
  );
});

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

test('only a token shaped like a JWT with an iss is an OIDC token', () => {
  const jwt = `${b64({ alg: 'RS256' })}.${b64({ iss: ISSUER, sub: 'x' })}.c2ln`;
  assert.equal(issuerOf(jwt), ISSUER);
  assert.equal(
    issuerOf(`${b64({ alg: 'none' })}.${b64({ iss: ISSUER })}.`),
    ISSUER,
    'alg none is refused later, with its own message',
  );
  assert.equal(issuerOf('kg_7Qm2v9xJrL0aTqP4nS8wE1yU6iO3bH5cK2dF7gZ9jX0'), null, "kubegate's own token");
  assert.equal(issuerOf(`${b64({ alg: 'RS256' })}.${b64({ sub: 'x' })}.c2ln`), null, 'no iss');
  assert.equal(issuerOf(`${b64({ alg: 'RS256' })}.${b64({ iss: 7 })}.c2ln`), null, 'iss not a string');
  assert.equal(issuerOf(`${b64({ alg: 'RS256' })}.bm90IGpzb24.c2ln`), null, 'payload not JSON');
  assert.equal(issuerOf('a.b.c.d'), null, 'four parts (a JWE has five)');
  assert.equal(issuerOf(`${b64({ alg: 'RS256' })}.${b64({ iss: ISSUER })}.c2/n`), null, 'not base64url');
});
