// The identify stage, one row per rule, with a fake token store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubegateError, toStatus } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { gatewayAuthenticators, gatewayIdentify } from './authenticators.js';
import { certificateAuthenticator } from './certificate.js';
import { createIdentify } from './identify.js';
import type { ClientCredentials } from './identify.js';
import { tokenDigest } from './tokens.js';
import type { Identity } from './types.js';

const GOOD_TOKEN = 'kg_7Qm2v9xJrL0aTqP4nS8wE1yU6iO3bH5cK2dF7gZ9jX0';
const bob: Identity = { user: 'bob', groups: ['sre'], method: 'token' };

const identify = gatewayIdentify({
  lookupDigest: (digest: string) => (digest === tokenDigest(GOOD_TOKEN) ? bob : null),
});

type Subject = NonNullable<ClientCredentials['certificate']>['subject'];
const cert = (subject: Subject, authorized = true): ClientCredentials['certificate'] => ({
  authorized,
  subject,
});

interface Row {
  readonly name: string;
  readonly input: ClientCredentials;
  readonly want: Identity | { readonly code: ErrorCode };
}

const rows: readonly Row[] = [
  {
    name: 'a verified certificate gives user CN and every O as groups, in order',
    input: { certificate: cert({ CN: 'alice', O: ['dev', 'sre'] }), authorization: undefined },
    want: { user: 'alice', groups: ['dev', 'sre'], method: 'client-certificate' },
  },
  {
    name: 'a verified certificate with a single O gives one group',
    input: { certificate: cert({ CN: 'alice', O: 'dev' }), authorization: undefined },
    want: { user: 'alice', groups: ['dev'], method: 'client-certificate' },
  },
  {
    name: 'a verified certificate without O gives no groups, and system:authenticated is not added',
    input: { certificate: cert({ CN: 'alice' }), authorization: undefined },
    want: { user: 'alice', groups: [], method: 'client-certificate' },
  },
  {
    name: 'empty O values are dropped',
    input: { certificate: cert({ CN: 'alice', O: ['', 'dev'] }), authorization: undefined },
    want: { user: 'alice', groups: ['dev'], method: 'client-certificate' },
  },
  {
    name: 'a system: user name from a verified certificate is allowed, as Kubernetes allows it',
    input: { certificate: cert({ CN: 'system:kube-scheduler' }), authorization: undefined },
    want: { user: 'system:kube-scheduler', groups: [], method: 'client-certificate' },
  },
  {
    name: 'a verified certificate wins over a bearer token',
    input: { certificate: cert({ CN: 'alice' }), authorization: `Bearer ${GOOD_TOKEN}` },
    want: { user: 'alice', groups: [], method: 'client-certificate' },
  },
  {
    name: 'a certificate that did not verify is refused',
    input: { certificate: cert({ CN: 'alice', O: 'system:masters' }, false), authorization: undefined },
    want: { code: 'KG_AUTHN_CERT_INVALID' },
  },
  {
    name: 'a certificate that did not verify is refused even with a good token',
    input: { certificate: cert({ CN: 'alice' }, false), authorization: `Bearer ${GOOD_TOKEN}` },
    want: { code: 'KG_AUTHN_CERT_INVALID' },
  },
  {
    name: 'a verified certificate with an empty CN is refused',
    input: { certificate: cert({ CN: '', O: 'dev' }), authorization: undefined },
    want: { code: 'KG_AUTHN_CERT_INVALID' },
  },
  {
    name: 'a verified certificate without a CN is refused',
    input: { certificate: cert({ O: 'dev' }), authorization: undefined },
    want: { code: 'KG_AUTHN_CERT_INVALID' },
  },
  {
    name: 'a verified certificate with two CNs is refused as ambiguous',
    input: { certificate: cert({ CN: ['alice', 'admin'] }), authorization: undefined },
    want: { code: 'KG_AUTHN_CERT_INVALID' },
  },
  {
    name: 'a CN with surrounding spaces is refused, since a header would lose them',
    input: { certificate: cert({ CN: ' admin' }), authorization: undefined },
    want: { code: 'KG_AUTHN_CERT_INVALID' },
  },
  {
    name: 'an O with a control character is refused',
    input: {
      certificate: cert({ CN: 'alice', O: ['dev\r\nImpersonate-Group: x'] }),
      authorization: undefined,
    },
    want: { code: 'KG_AUTHN_CERT_INVALID' },
  },
  {
    name: 'a known bearer token gives its identity',
    input: { certificate: null, authorization: `Bearer ${GOOD_TOKEN}` },
    want: bob,
  },
  {
    name: 'the Bearer scheme is case-insensitive',
    input: { certificate: null, authorization: `bearer ${GOOD_TOKEN}` },
    want: bob,
  },
  {
    name: 'an unknown bearer token is refused',
    input: { certificate: null, authorization: 'Bearer kg_unknown' },
    want: { code: 'KG_AUTHN_TOKEN_INVALID' },
  },
  {
    name: 'basic authentication is refused as a malformed header',
    input: { certificate: null, authorization: 'Basic YWxpY2U6c2VjcmV0' },
    want: { code: 'KG_AUTHN_TOKEN_INVALID' },
  },
  {
    name: 'a Bearer header without a token is refused',
    input: { certificate: null, authorization: 'Bearer ' },
    want: { code: 'KG_AUTHN_TOKEN_INVALID' },
  },
  {
    name: 'a Bearer header with two spaces is refused',
    input: { certificate: null, authorization: `Bearer  ${GOOD_TOKEN}` },
    want: { code: 'KG_AUTHN_TOKEN_INVALID' },
  },
  {
    name: 'a token followed by more words is refused',
    input: { certificate: null, authorization: `Bearer ${GOOD_TOKEN} extra` },
    want: { code: 'KG_AUTHN_TOKEN_INVALID' },
  },
  {
    name: 'an empty Authorization header is refused as malformed',
    input: { certificate: null, authorization: '' },
    want: { code: 'KG_AUTHN_TOKEN_INVALID' },
  },
  {
    name: 'no certificate and no Authorization header is refused as missing',
    input: { certificate: null, authorization: undefined },
    want: { code: 'KG_AUTHN_MISSING' },
  },
];

for (const row of rows) {
  test(row.name, async () => {
    if ('user' in row.want) {
      assert.deepEqual((await identify(row.input)).identity, row.want);
      return;
    }
    const code = row.want.code;
    await assert.rejects(identify(row.input), (err: unknown) => {
      assert.ok(err instanceof KubegateError);
      assert.equal(err.code, code);
      assert.equal(toStatus(err).code, 401);
      const token = row.input.authorization?.split(' ').at(-1) ?? '';
      if (token.length > 3) assert.equal(err.message.includes(token), false, 'no token in the message');
      return true;
    });
  });
}

test('the missing-credentials message tells a kubectl user what to do', async () => {
  await assert.rejects(identify({ certificate: null, authorization: undefined }), {
    message:
      'kubegate could not authenticate you: no client certificate and no bearer token. Use the kubeconfig that `kubegate user add` wrote for you.',
  });
});

test('the identity from a certificate is frozen', async () => {
  const { identity } = await identify({
    certificate: cert({ CN: 'alice', O: ['dev'] }),
    authorization: undefined,
  });
  assert.ok(Object.isFrozen(identity));
  assert.ok(Object.isFrozen(identity.groups));
});

test('a second bearer authenticator is asked when kubegate does not know the token (OIDC joins this way)', async () => {
  const other = {
    reads: 'bearer' as const,
    authenticate: ({ bearerToken }: { bearerToken: string }) =>
      Promise.resolve(
        bearerToken === 'eyJ.issuer.token'
          ? { identity: { user: 'carol', groups: ['sre'], method: 'token' as const }, stillValid: () => true }
          : null,
      ),
  };
  const withOther = createIdentify([...gatewayAuthenticators({ lookupDigest: () => null }), other], {
    missing: 'nothing',
  });
  assert.equal(
    (await withOther({ certificate: null, authorization: 'Bearer eyJ.issuer.token' })).identity.user,
    'carol',
  );
  await assert.rejects(withOther({ certificate: null, authorization: 'Bearer kg_nobody' }), {
    code: 'KG_AUTHN_TOKEN_INVALID',
  });
});

test("a kubegate token's authentication stops holding once the token is revoked", async () => {
  let revoked = false;
  const identifyWith = gatewayIdentify({
    lookupDigest: (digest: string) => (!revoked && digest === tokenDigest(GOOD_TOKEN) ? bob : null),
  });
  const found = await identifyWith({ certificate: null, authorization: `Bearer ${GOOD_TOKEN}` });
  assert.equal(found.stillValid(), true);
  revoked = true;
  assert.equal(found.stillValid(), false);
});

test("a certificate's authentication holds until the certificate's notAfter", async () => {
  let now = Date.parse('2026-12-04T10:00:00Z');
  const identifyAt = createIdentify([certificateAuthenticator(() => now)], { missing: 'nothing' });
  const found = await identifyAt({
    certificate: { ...cert({ CN: 'alice' })!, notAfter: new Date('2026-12-04T11:00:00Z') },
    authorization: undefined,
  });
  assert.equal(found.stillValid(), true);
  now = Date.parse('2026-12-04T11:00:01Z');
  assert.equal(found.stillValid(), false);
});

test('the gateway has no session authenticator: a session cookie alone is no credential', async () => {
  await assert.rejects(
    identify({ certificate: null, authorization: undefined, cookie: '__Host-kubegate-session=x' }),
    { code: 'KG_AUTHN_MISSING' },
  );
});
