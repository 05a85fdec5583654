// An OIDC requester's record keeps the issuer and subject beside the user name; other records
// keep their old canonical text (and so their old hashes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalEvent, chainHash, GENESIS_HASH } from './chain.js';
import { auditEvent } from './event.js';

const T = new Date('2026-12-04T10:00:00.000Z');

test('a record without an OIDC identity has no oidc field at all', () => {
  const text = canonicalEvent(auditEvent('decided', T, { user: 'alice', groups: ['dev'] }));
  assert.ok(!text.includes('"oidc"'), text);
  assert.equal(
    text,
    '{"actor":null,"breakGlass":false,"comment":null,"decision":null,"durationMs":null,"errorCode":null,"groups":["dev"],"kind":"decided","latencyMs":null,"pendingId":null,"request":null,"requestId":null,"rules":[],"sourceAddress":null,"status":null,"time":"2026-12-04T10:00:00.000Z","user":"alice"}',
  );
});

test("two issuers' alice are two records that hash apart, each naming its issuer and subject", () => {
  const from = (issuer: string, subject: string) =>
    canonicalEvent(auditEvent('decided', T, { user: 'alice', groups: [], oidc: { issuer, subject } }));
  const a = from('https://idp.a.example', 'a-1');
  const b = from('https://idp.b.example', 'b-7');
  assert.match(
    a,
    /"kind":"decided","latencyMs":null,"oidc":\{"issuer":"https:\/\/idp\.a\.example","subject":"a-1"\}/u,
  );
  assert.notEqual(chainHash(GENESIS_HASH, 1, a), chainHash(GENESIS_HASH, 1, b));
});

test("an agent's record says so, with the person it acts for; a person's record has neither field", () => {
  const agent = canonicalEvent(
    auditEvent('decided', T, { user: 'claude', groups: ['agents'], agent: true, onBehalfOf: 'alice' }),
  );
  assert.match(agent, /^\{"actor":null,"agent":true,/u);
  assert.match(agent, /"latencyMs":null,"onBehalfOf":"alice","pendingId"/u);
  const person = canonicalEvent(auditEvent('decided', T, { user: 'alice', groups: ['dev'] }));
  assert.ok(!person.includes('"agent"') && !person.includes('"onBehalfOf"'), person);
});
