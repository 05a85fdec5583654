// Agents as subjects: which identities the config marks as agents, what survives of onBehalfOf,
// and how they are shown — one row per case, then the identify stage with a real token store.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { agentFields, markAgent, subjectLabel, type AgentsConfig } from './agents.js';
import { gatewayIdentify } from './authenticators.js';
import { identityFromClaims } from './oidc-claims.js';
import { TokenStore } from './tokens.js';
import { headline } from '../approvals/notify.js';
import type { PendingRequest } from '../approvals/types.js';
import type { Identity } from './types.js';

const AGENTS: AgentsConfig = { users: ['ci-bot'], groups: ['agents'] };

interface Row {
  readonly name: string;
  readonly input: Identity;
  readonly want: Identity;
}

const rows: readonly Row[] = [
  {
    name: 'a member of an agents group is marked as an agent, user and groups unchanged',
    input: { user: 'claude', groups: ['dev', 'agents'], method: 'token' },
    want: { user: 'claude', groups: ['dev', 'agents'], method: 'token', agent: true },
  },
  {
    name: 'a user the config lists is an agent whatever its groups',
    input: { user: 'ci-bot', groups: [], method: 'client-certificate' },
    want: { user: 'ci-bot', groups: [], method: 'client-certificate', agent: true },
  },
  {
    name: 'an agent keeps the person its credential names',
    input: { user: 'claude', groups: ['agents'], method: 'token', onBehalfOf: 'alice' },
    want: { user: 'claude', groups: ['agents'], method: 'token', agent: true, onBehalfOf: 'alice' },
  },
  {
    name: 'a person is not an agent, and an onBehalfOf on their credential is dropped',
    input: { user: 'alice', groups: ['dev'], method: 'token', onBehalfOf: 'bob' },
    want: { user: 'alice', groups: ['dev'], method: 'token' },
  },
  {
    name: 'a group named like the agents group but different in case is not the agents group',
    input: { user: 'eve', groups: ['Agents'], method: 'token' },
    want: { user: 'eve', groups: ['Agents'], method: 'token' },
  },
  {
    name: 'an agent marker the credential itself carried is not trusted: only the config marks agents',
    input: { user: 'mallory', groups: ['dev'], method: 'token', agent: true },
    want: { user: 'mallory', groups: ['dev'], method: 'token' },
  },
];

for (const row of rows) {
  test(row.name, () => {
    assert.deepEqual(markAgent(row.input, AGENTS), row.want);
  });
}

test('with no agents configured nobody is an agent', () => {
  const alice: Identity = { user: 'claude', groups: ['agents'], method: 'token' };
  assert.deepEqual(markAgent(alice, { users: [], groups: [] }), alice);
});

test('an agent is shown as "agent X", with the person it acts for; a person by name', () => {
  assert.equal(subjectLabel({ user: 'claude', agent: true }), 'agent claude');
  assert.equal(
    subjectLabel({ user: 'claude', agent: true, onBehalfOf: 'alice' }),
    'agent claude (for alice)',
  );
  assert.equal(subjectLabel({ user: 'alice' }), 'alice');
  assert.equal(subjectLabel({ user: 'alice', onBehalfOf: 'bob' }), 'alice');
});

test('agentFields copies only the agent marker and the person, and nothing for a person', () => {
  assert.deepEqual(agentFields({ agent: true, onBehalfOf: 'alice' }), { agent: true, onBehalfOf: 'alice' });
  assert.deepEqual(agentFields({ agent: true }), { agent: true });
  assert.deepEqual(agentFields({ onBehalfOf: 'bob' }), {});
  assert.deepEqual(agentFields(null), {});
});

test('identify marks an agent token from the token file, with its onBehalfOf; a person token stays a person', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-agents-'));
  try {
    const store = await TokenStore.open(dir);
    const agentToken = await store.issue('claude', ['agents'], { onBehalfOf: 'alice' });
    const personToken = await store.issue('bob', ['sre']);
    assert.match(await readFile(store.file, 'utf8'), /"onBehalfOf": "alice"/u);
    const identify = gatewayIdentify(store, null, AGENTS);
    const asAgent = await identify({ certificate: null, authorization: `Bearer ${agentToken}` });
    assert.deepEqual(asAgent.identity, {
      user: 'claude',
      groups: ['agents'],
      method: 'token',
      agent: true,
      onBehalfOf: 'alice',
    });
    const asPerson = await identify({ certificate: null, authorization: `Bearer ${personToken}` });
    assert.deepEqual(asPerson.identity, { user: 'bob', groups: ['sre'], method: 'token' });
    // Without the config, the same agent token is just a user in a group.
    const plain = await gatewayIdentify(store)({ certificate: null, authorization: `Bearer ${agentToken}` });
    assert.equal(plain.identity.agent, undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a token file onBehalfOf that could not be shown as it is is refused when issuing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-agents-'));
  try {
    const store = await TokenStore.open(dir);
    await assert.rejects(store.issue('claude', ['agents'], { onBehalfOf: 'alice\nbob' }), {
      code: 'KG_CONFIG_INVALID',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const MAPPING = {
  issuerUrl: 'https://idp.example',
  usernameClaim: 'sub',
  usernamePrefix: '',
  groupsClaim: 'groups',
  groupsPrefix: '',
  requiredClaims: {},
  onBehalfOfClaim: 'act_for',
};

test('an OIDC token names the person an agent acts for through the configured claim', () => {
  const identity = identityFromClaims({ sub: 'claude', groups: ['agents'], act_for: 'alice' }, MAPPING);
  assert.equal(identity.onBehalfOf, 'alice');
  assert.deepEqual(markAgent(identity, AGENTS).onBehalfOf, 'alice');
  const without = identityFromClaims({ sub: 'claude', groups: ['agents'] }, MAPPING);
  assert.equal(without.onBehalfOf, undefined);
  const notConfigured = identityFromClaims(
    { sub: 'claude', act_for: 'alice' },
    { ...MAPPING, onBehalfOfClaim: undefined },
  );
  assert.equal(notConfigured.onBehalfOf, undefined);
});

test('an OIDC onBehalfOf claim that is not a usable name refuses the token', () => {
  for (const act_for of [['alice'], 'alice\u0007', 'system:admin']) {
    assert.throws(() => identityFromClaims({ sub: 'claude', act_for }, MAPPING), {
      code: 'KG_AUTHN_OIDC_INVALID',
    });
  }
});

test("a webhook's headline names an agent as one, with the person it acts for", () => {
  const pending = (requester: PendingRequest['requester']) =>
    ({ id: 'kg-abcdefghij', requester }) as unknown as PendingRequest;
  assert.equal(
    headline({
      type: 'created',
      pending: pending({ user: 'claude', groups: ['agents'], agent: true, onBehalfOf: 'alice' }),
    }),
    'Approval requested: agent claude (for alice) wants to run a command that needs approval (kg-abcdefghij)',
  );
  assert.match(
    headline({ type: 'created', pending: pending({ user: 'bob', groups: ['dev'] }) }),
    /^Approval requested: bob wants/u,
  );
});
