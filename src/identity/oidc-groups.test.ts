// Groups from the identity provider drive everything that already reads user and groups: a rule's
// `subjects`, who may approve a held request, and who may read the audit trail. With a
// groupsPrefix the names are the prefixed ones, so the IdP's "sre" is not the certificate users'
// "sre" unless the operator wants it to be.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPending, eligibility } from '../approvals/state-machine.js';
import { compilePolicy } from '../policy/compile.js';
import { evaluate } from '../policy/evaluate.js';
import { PolicySchema } from '../policy/schema.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import { mayReadAudit } from '../web/audit-api.js';
import { identityFromClaims, type ClaimMapping } from './oidc-claims.js';
import type { Identity } from './types.js';

const mapping: ClaimMapping = {
  issuerUrl: 'https://idp.example.com',
  usernameClaim: 'email',
  usernamePrefix: '',
  groupsClaim: 'groups',
  groupsPrefix: 'oidc:',
  requiredClaims: {},
};

const signedIn = (email: string, groups: readonly string[]): Identity =>
  identityFromClaims({ sub: `id-${email}`, email, email_verified: true, groups: [...groups] }, mapping);

const alice = signedIn('alice@example.com', ['dev']);
const bob = signedIn('bob@example.com', ['sre']);
const mallory = signedIn('mallory@example.com', ['contractors']);
/** A certificate user in groups called "sre" and "contractors": not the IdP's groups. */
const certSre: Identity = { user: 'carol', groups: ['sre', 'contractors'], method: 'client-certificate' };

const NOW = new Date('2026-12-04T10:00:00.000Z');

const policy = compilePolicy(
  PolicySchema.parse({
    apiVersion: 'kubegate.dev/v1alpha1',
    kind: 'Policy',
    defaults: { action: 'allow' },
    rules: [
      {
        name: 'no-secrets-for-contractors',
        match: { resources: ['secrets'], subjects: { groups: ['oidc:contractors'] } },
        action: 'deny',
        message: 'no',
      },
      {
        name: 'deletes-need-sre',
        match: { verbs: ['delete'] },
        action: 'approve',
        approval: { approvers: ['group:oidc:sre'] },
      },
    ],
  }),
  { file: 'policy.yaml' },
);

function decide(identity: Identity, method: string, target: string) {
  const request = parseRequest({ method, target, headers: {} });
  return {
    request,
    decision: evaluate(policy, { request, body: null, identity, object: null, now: NOW }),
  };
}

test("a rule's subjects match the IdP group with its prefix", () => {
  const secret = '/api/v1/namespaces/prod/secrets/db';
  assert.equal(decide(mallory, 'GET', secret).decision.kind, 'deny');
  assert.equal(decide(alice, 'GET', secret).decision.kind, 'allow');
  assert.equal(
    decide(certSre, 'GET', secret).decision.kind,
    'allow',
    'an unprefixed contractors is another group',
  );
});

test('an IdP group (with its prefix) approves a held request; other groups and the requester do not', () => {
  const { request, decision } = decide(alice, 'DELETE', '/apis/apps/v1/namespaces/prod/deployments/web');
  assert.equal(decision.kind, 'approve');
  if (decision.kind !== 'approve') return;
  const pending = createPending(
    { identity: alice, request, body: withBody(request, Buffer.alloc(0)), decision },
    'f'.repeat(64),
    'kg-oidcgroups',
    NOW,
  );
  assert.equal(eligibility(pending, bob, NOW), null);
  assert.equal(eligibility(pending, mallory, NOW), 'not-an-approver');
  assert.equal(eligibility(pending, certSre, NOW), 'not-an-approver');
  assert.equal(eligibility(pending, alice, NOW), 'own-request');
});

test('audit.readers names IdP groups with their prefix', () => {
  const readers = { users: [], groups: ['oidc:sre'] };
  assert.equal(mayReadAudit(readers, bob), true);
  assert.equal(mayReadAudit(readers, alice), false);
  assert.equal(mayReadAudit(readers, certSre), false);
});
