// The pipeline through its handler with fake deps: which audit path a request takes (durable
// before forwarding, or batched), and a held request judged again before it is forwarded.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { pino } from 'pino';
import type { AuditEvent, AuditTrail } from '../audit/event.js';
import type { Decision } from '../policy/decision.js';
import type { ApprovalRequirement } from '../policy/decision.js';
import type { Upstream } from '../upstream/pool.js';
import type { ClientResponse } from '../upstream/forward.js';
import { handleRequest, type GatewayDeps } from './pipeline.js';
import type { ClientRequest } from './read-body.js';

interface Answer {
  status: number;
  body: { code?: number; message?: string; reason?: string } | null;
}

function fakeRequest(method: string, url: string): ClientRequest {
  const socket = { remoteAddress: '10.0.0.7', authorized: false, getPeerCertificate: () => ({}) };
  return Object.assign(new EventEmitter(), {
    method,
    url,
    headers: { authorization: 'Bearer t' },
    rawHeaders: ['Authorization', 'Bearer t'],
    socket,
  }) as unknown as ClientRequest;
}

function fakeResponse(): { res: ClientResponse; answer: Promise<Answer> } {
  let resolve!: (a: Answer) => void;
  const answer = new Promise<Answer>((r) => (resolve = r));
  let status = 0;
  const res = Object.assign(new EventEmitter(), {
    headersSent: false,
    writableFinished: false,
    writeHead(code: number) {
      status = code;
      this.headersSent = true;
      return this;
    },
    end(body: string) {
      this.writableFinished = true;
      resolve({ status, body: JSON.parse(body) as Answer['body'] });
    },
  });
  return { res: res as unknown as ClientResponse, answer };
}

interface Harness {
  deps: GatewayDeps;
  durable: AuditEvent[];
  batched: AuditEvent[];
  forwarded: string[];
}

function harness(decisions: Decision[], opts: { auditDown?: boolean } = {}): Harness {
  const durable: AuditEvent[] = [];
  const batched: AuditEvent[] = [];
  const forwarded: string[] = [];
  const audit: AuditTrail = {
    append(event) {
      if (opts.auditDown) return Promise.reject(new Error('disk full'));
      durable.push(event);
      return Promise.resolve();
    },
    appendLater: (event) => void batched.push(event),
    close: () => Promise.resolve(),
  };
  const upstream = {
    origin: 'https://api.example',
    pathPrefix: '',
    pool: {
      stream(options: { path: string }) {
        forwarded.push(options.path);
        return Promise.reject(new Error('upstream down in this test'));
      },
    },
    authorization: () => null,
  } as unknown as Upstream;
  let call = 0;
  const deps: GatewayDeps = {
    identify: () =>
      Promise.resolve({
        identity: { user: 'alice', groups: ['dev'], method: 'token' },
        stillValid: () => true,
      }),
    decide: () => {
      const d = decisions[Math.min(call, decisions.length - 1)];
      call++;
      return d as Decision;
    },
    hold: () => Promise.resolve(),
    upstream,
    ownApi: null,
    audit,
    log: pino({ level: 'silent' }),
    maxBodyBytes: 1024,
    now: () => new Date('2026-12-04T10:00:00Z'),
  };
  return { deps, durable, batched, forwarded };
}

async function send(h: Harness, method: string, url: string): Promise<Answer> {
  const { res, answer } = fakeResponse();
  await handleRequest(fakeRequest(method, url), res, h.deps);
  return answer;
}

const allow: Decision = { kind: 'allow', rules: [], byDefault: true };
const requirement = (rule: string, count: number): ApprovalRequirement => ({
  rule,
  stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count }],
  escalateAfterMs: null,
  escalateTo: [],
  expiresAfterMs: null,
  mode: 'hold',
  grantTtlMs: null,
  breakGlass: false,
});
const approve = (...approval: ApprovalRequirement[]): Decision => ({
  kind: 'approve',
  rules: approval.map((a) => ({ name: a.rule ?? 'defaults', action: 'approve' as const })),
  byDefault: false,
  approval,
});

test('a plain GET is audited in a batch and forwarded', async () => {
  const h = harness([allow]);
  const answer = await send(h, 'GET', '/api/v1/namespaces/d/pods/x');
  assert.equal(answer.status, 503, 'the fake upstream is down');
  assert.deepEqual(h.forwarded, ['/api/v1/namespaces/d/pods/x']);
  assert.deepEqual(
    h.batched.map((e) => e.kind),
    ['decided', 'refused'],
  );
  assert.deepEqual(h.durable, []);
});

for (const target of [
  '/api/v1/nodes/n1/proxy/configz',
  '/api/v1/namespaces/d/services/web/proxy/admin',
  '/api/v1/namespaces/d/pods/x:8080/proxy/',
]) {
  test(`a GET through a proxy is audited durably before it is forwarded: ${target}`, async () => {
    const h = harness([allow]);
    await send(h, 'GET', target);
    assert.deepEqual(
      h.durable.map((e) => e.kind),
      ['decided'],
    );
    assert.deepEqual(h.forwarded, [target]);
  });

  test(`a GET through a proxy is not forwarded when the trail cannot take it: ${target}`, async () => {
    const h = harness([allow], { auditDown: true });
    const answer = await send(h, 'GET', target);
    assert.equal(answer.status, 503);
    assert.match(answer.body?.message ?? '', /audit trail/);
    assert.deepEqual(h.forwarded, []);
  });
}

test('a held request the policy now denies is refused after its approval, not forwarded', async () => {
  const denied: Decision = { kind: 'deny', rules: [], byDefault: false, message: 'No deletes today.' };
  const h = harness([approve(requirement('two-sre', 2)), denied]);
  const answer = await send(h, 'DELETE', '/apis/apps/v1/namespaces/d/statefulsets/db');
  assert.equal(answer.status, 403);
  assert.match(
    answer.body?.message ?? '',
    /policy changed while it waited and now refuses it: No deletes today\./,
  );
  assert.deepEqual(h.forwarded, []);
  assert.equal(h.batched.at(-1)?.errorCode, 'KG_POLICY_CHANGED');
});

test('a held request the policy now wants approved under another requirement is refused', async () => {
  const h = harness([approve(requirement('two-sre', 1)), approve(requirement('two-sre', 2))]);
  const answer = await send(h, 'DELETE', '/apis/apps/v1/namespaces/d/statefulsets/db');
  assert.equal(answer.status, 403);
  assert.match(answer.body?.message ?? '', /now needs approval under rule "two-sre".*run the command again/);
  assert.deepEqual(h.forwarded, []);
});

test('a held request judged the same way again is forwarded', async () => {
  const h = harness([approve(requirement('two-sre', 2))]);
  await send(h, 'DELETE', '/apis/apps/v1/namespaces/d/statefulsets/db');
  assert.deepEqual(h.forwarded, ['/apis/apps/v1/namespaces/d/statefulsets/db']);
});

test('a held request the policy now allows is forwarded', async () => {
  const h = harness([approve(requirement('two-sre', 2)), allow]);
  await send(h, 'DELETE', '/apis/apps/v1/namespaces/d/statefulsets/db');
  assert.deepEqual(h.forwarded, ['/apis/apps/v1/namespaces/d/statefulsets/db']);
});
