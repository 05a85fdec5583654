// `kubegate requests …` against the reviewer API handler served over real TLS on loopback, with
// kubeconfigs written by `kubegate user add` (client certificate and token) and the gateway's own
// identify stage, and a fake ApprovalService: what each command prints, to which stream, its exit
// code, and that nothing hostile reaches the terminal raw.
import type { StandingAsk } from '../approvals/standing.js';
import assert from 'node:assert/strict';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { KubegateError } from '../errors.js';
import { ensureGatewayPki } from '../identity/gateway-pki.js';
import { addUser } from '../identity/users.js';
import { gatewayIdentify } from '../identity/authenticators.js';
import { TokenStore } from '../identity/tokens.js';
import type { Identity } from '../identity/types.js';
import { clientCredentials, tlsSocketOf } from '../gateway/client-credentials.js';
import { writeStatus } from '../gateway/respond.js';
import { createCertificateAuthority } from '../pki/certificates.js';
import { createReviewerApi, type ReviewerApi } from '../web/approvals-api.js';
import type {
  ApprovalEvent,
  ApprovalService,
  PendingRequest,
  ReviewRefusal,
  ReviewResult,
} from '../approvals/types.js';
import { registerRequests } from './requests.js';
import { connectionFromKubeconfig, createReviewerClient } from './reviewer-client.js';

const NOW = Date.parse('2026-11-25T10:05:00.000Z');

function pendingRequest(id: string, over: Partial<PendingRequest> = {}): PendingRequest {
  return {
    id,
    fingerprint: `fp-${id}`,
    state: 'pending',
    requester: { user: 'alice', groups: ['dev'] },
    request: {
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/prod/statefulsets/db',
      rawQuery: 'fieldManager=kubectl-patch',
      verb: 'patch',
      apiGroup: 'apps',
      apiVersion: 'v1',
      resource: 'statefulsets',
      subresource: '',
      namespace: 'prod',
      name: 'db',
      labelSelector: '',
      fieldSelector: '',
      bodyDigest: 'abc',
      kubectlCommand: 'kubectl patch',
      kubectlEquivalent: `kubectl patch statefulset db -n prod -p '{"spec":{"replicas":3}}'`,
    },
    rules: [
      { name: 'statefulsets-need-two', action: 'approve', message: 'Two SREs approve statefulset changes.' },
    ],
    requirements: [
      {
        rule: 'statefulsets-need-two',
        stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 2 }],
        escalateAfterMs: 600_000,
        escalateTo: [{ kind: 'user', name: 'oncall' }],
        expiresAfterMs: 3_600_000,
        mode: 'hold',
        grantTtlMs: null,
        breakGlass: false,
      },
    ],
    stageIndex: [0],
    reviews: [],
    mode: 'hold',
    requesterLeftAt: null,
    createdAt: '2026-11-25T10:00:00.000Z',
    expiresAt: '2026-11-25T11:00:00.000Z',
    escalateAt: '2026-11-25T10:10:00.000Z',
    escalated: false,
    decidedAt: null,
    context: {
      targetLabels: { app: 'db', tier: 'data' },
      dryRun: { status: 200, object: {}, message: null },
      diff: '--- live\n+++ dry-run\n@@ -3,3 +3,3 @@\n spec:\n-  replicas: 1\n+  replicas: 3\n',
      objects: null,
      exec: null,
      notes: ['the labels were read as kubegate'],
    },
    grantExpiresAt: null,
    grantUsed: false,
    ...over,
  };
}

interface ReviewCall {
  readonly id: string;
  readonly reviewer: string;
  readonly decision: 'approve' | 'deny';
  readonly comment: string;
  readonly breakGlassReason: string | undefined;
  readonly standing?: StandingAsk;
}

function fakeService() {
  const items = new Map<string, PendingRequest>();
  const listeners = new Set<(e: ApprovalEvent) => void>();
  const calls: ReviewCall[] = [];
  let onSubscribe = (): void => undefined;
  const service = {
    items,
    calls,
    listeners,
    whenSubscribed: (): Promise<void> => new Promise<void>((r) => (onSubscribe = r)),
    emit(event: ApprovalEvent) {
      for (const l of listeners) l(event);
    },
    hold: () => Promise.reject(new KubegateError('KG_INTERNAL', 'not in this test')),
    list: (filter?: { state?: PendingRequest['state'] }) =>
      Promise.resolve(
        [...items.values()].filter((p) => filter?.state === undefined || p.state === filter.state),
      ),
    get: (id: string) => Promise.resolve(items.get(id) ?? null),
    eligibility(pending: PendingRequest, reviewer: Pick<Identity, 'user' | 'groups'>): ReviewRefusal | null {
      if (pending.state !== 'pending') return 'not-pending';
      if (pending.requester.user === reviewer.user) return 'own-request';
      return reviewer.groups.includes('sre') ? null : 'not-an-approver';
    },
    review(
      id: string,
      reviewer: Pick<Identity, 'user' | 'groups'>,
      decision: 'approve' | 'deny',
      comment: string,
      options?: { readonly breakGlassReason?: string; readonly standing?: StandingAsk },
    ): Promise<ReviewResult> {
      calls.push({
        id,
        reviewer: reviewer.user,
        decision,
        comment,
        breakGlassReason: options?.breakGlassReason,
        ...(options?.standing === undefined ? {} : { standing: options.standing }),
      });
      const pending = items.get(id)!;
      if (pending.requester.user === reviewer.user && options?.breakGlassReason === undefined) {
        return Promise.resolve({
          ok: false,
          refusal: 'own-request',
          message: 'you cannot approve your own request',
        });
      }
      const review = {
        reviewer: reviewer.user,
        reviewerGroups: reviewer.groups,
        decision,
        comment,
        at: '2026-11-25T10:04:00.000Z',
        breakGlass: options?.breakGlassReason !== undefined,
      };
      const reviews = [...pending.reviews, review];
      const done = decision === 'deny' || review.breakGlass || reviews.length >= 2;
      const state = decision === 'deny' ? 'denied' : done ? 'approved' : 'pending';
      const next: PendingRequest = {
        ...pending,
        reviews,
        state,
        decidedAt: done ? '2026-11-25T10:04:00.000Z' : null,
        stageIndex: state === 'approved' ? [1] : pending.stageIndex,
        // As the state machine does: an approval comes with its one-time grant.
        grantExpiresAt: state === 'approved' ? '2026-11-25T10:09:00.000Z' : null,
      };
      items.set(id, next);
      return Promise.resolve({ ok: true, pending: next });
    },
    withdraw(id: string, requester: Pick<Identity, 'user' | 'groups'>): Promise<ReviewResult> {
      const pending = items.get(id)!;
      if (pending.requester.user !== requester.user) {
        return Promise.resolve({
          ok: false,
          refusal: 'not-requester',
          message: `only the requester may withdraw ${id}`,
        });
      }
      const next: PendingRequest = { ...pending, state: 'withdrawn', decidedAt: '2026-11-25T10:04:00.000Z' };
      items.set(id, next);
      return Promise.resolve({ ok: true, pending: next });
    },
    revokeStanding(id: string, person: Pick<Identity, 'user' | 'groups'>): Promise<ReviewResult> {
      const pending = items.get(id)!;
      if (pending.standing === undefined || pending.standing.revokedAt !== null)
        return Promise.resolve({
          ok: false,
          refusal: 'standing-not-allowed',
          message: `${id} has no standing approval in force`,
        });
      const next: PendingRequest = {
        ...pending,
        grantUsed: true,
        standing: { ...pending.standing, revokedAt: '2026-11-25T10:05:00.000Z', revokedBy: person.user },
      };
      items.set(id, next);
      return Promise.resolve({ ok: true, pending: next });
    },
    subscribe(listener: (e: ApprovalEvent) => void) {
      listeners.add(listener);
      onSubscribe();
      return () => listeners.delete(listener);
    },
    close: () => Promise.resolve(),
  };
  return service satisfies ApprovalService;
}

let dir: string;
let server: Http2SecureServer;
let url: string;
let service: ReturnType<typeof fakeService>;
let api: ReviewerApi;
const kubeconfigs: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-cli-requests-'));
  const pki = await ensureGatewayPki(dir, ['127.0.0.1']);
  const tokens: { store: TokenStore | null } = { store: null };
  server = createSecureServer({
    allowHTTP1: true,
    cert: pki.certPem,
    key: pki.keyPem,
    ca: pki.caPem,
    requestCert: true,
    rejectUnauthorized: false,
  });
  // As the gateway does: identify the caller, then hand /kubegate/ paths to the API.
  server.on('request', (req, res) => {
    gatewayIdentify(tokens.store!)(clientCredentials(tlsSocketOf(req), req.headers.authorization)).then(
      ({ identity }) => api.handle(req, res, identity),
      (err: unknown) => void writeStatus(res, err, 'test'),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [name, groups, credential] of [
    ['bob', ['sre'], 'certificate'],
    ['erin', ['sre'], 'certificate'],
    ['alice', ['dev'], 'token'],
    ['dave', [], 'certificate'],
  ] as const) {
    const out = join(dir, `${name}.kubeconfig`);
    await addUser({ dataDir: dir, name, groups, credential, server: url, out });
    kubeconfigs[name] = out;
  }
  tokens.store = await TokenStore.open(dir);
});

after(async () => {
  api.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  api?.close();
  service = fakeService();
  api = createReviewerApi({
    approvals: service,
    publicUrl: 'https://kubegate.example',
    log: { error: () => undefined, warn: () => undefined, debug: () => undefined },
  });
  service.items.set('kg-aaaaaaaaaa', pendingRequest('kg-aaaaaaaaaa'));
  service.items.set(
    'kg-bbbbbbbbbb',
    pendingRequest('kg-bbbbbbbbbb', {
      state: 'denied',
      createdAt: '2026-11-24T09:00:00.000Z',
      decidedAt: '2026-11-24T09:30:00.000Z',
      request: { ...pendingRequest('x').request, kubectlEquivalent: 'kubectl delete deployment web -n prod' },
    }),
  );
});

interface Run {
  readonly code: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

async function kubegate(
  args: readonly string[],
  options: { watchSignal?: AbortSignal; onLine?: (line: string) => void } = {},
): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let code = 0;
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerRequests(program, {
    print: (line) => {
      stdout.push(line);
      options.onLine?.(line);
    },
    printError: (line) => stderr.push(line),
    setExitCode: (c) => (code = c),
    now: () => NOW,
    reconnectDelay: () => Promise.resolve(),
    ...(options.watchSignal === undefined ? {} : { watchSignal: () => options.watchSignal! }),
  });
  await program.parseAsync(['requests', ...args], { from: 'user' });
  return { code, stdout, stderr };
}

const as = (user: string): string[] => ['--kubeconfig', kubeconfigs[user]!];

test('list shows the pending requests as a table, with what you may do', async () => {
  const r = await kubegate(['list', ...as('bob')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(r.stdout, [
    'ID             STATE    AGE  REQUESTER  YOU         COMMAND',
    `kg-aaaaaaaaaa  pending  5m   alice      can review  kubectl patch statefulset db -n prod -p '{"spec":{"replicas":3}}'`,
  ]);
});

test('list --all includes decided requests; the requester sees their own as theirs', async () => {
  const r = await kubegate(['list', '--all', ...as('alice')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(r.stdout.slice(1), [
    `kg-aaaaaaaaaa  pending  5m   alice      own-request  kubectl patch statefulset db -n prod -p '{"spec":{"replicas":3}}'`,
    'kg-bbbbbbbbbb  denied   25h  alice      not-pending  kubectl delete deployment web -n prod',
  ]);
});

test('list --json prints the API answer', async () => {
  const r = await kubegate(['list', '--json', ...as('bob')]);
  const list = JSON.parse(r.stdout.join('\n')) as { kind: string; items: PendingRequest[] };
  assert.equal(list.kind, 'ApprovalRequestList');
  assert.deepEqual(
    list.items.map((i) => i.id),
    ['kg-aaaaaaaaaa'],
  );
});

test('list with nothing waiting says so', async () => {
  service.items.delete('kg-aaaaaaaaaa');
  const r = await kubegate(['list', ...as('bob')]);
  assert.deepEqual(r.stdout, ['No requests are waiting for approval.']);
});

test('show prints everything a reviewer needs to decide', async () => {
  const r = await kubegate(['show', 'kg-aaaaaaaaaa', ...as('bob')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(r.stdout, [
    'kg-aaaaaaaaaa  PENDING  (hold mode)',
    `Command:         kubectl patch statefulset db -n prod -p '{"spec":{"replicas":3}}'`,
    'Requested by:    alice (groups: dev) at 2026-11-25T10:00:00.000Z',
    'Reason:          (none given)',
    'Kubectl-Command: kubectl patch  (as kubectl reported it)',
    'Request:         PATCH /apis/apps/v1/namespaces/prod/statefulsets/db?fieldManager=kubectl-patch',
    'Rules:',
    '  statefulsets-need-two (approve): Two SREs approve statefulset changes.',
    'Approvals needed:',
    '  statefulsets-need-two, stage approval: 2 of group sre  ← now',
    '    escalates at 2026-11-25T10:10:00.000Z to user oncall',
    'Expires:         2026-11-25T11:00:00.000Z',
    'Target labels:   app=db, tier=data',
    'Dry run:         200: the API server accepts it (as the requester)',
    'Diff (live → dry run):',
    '  --- live',
    '  +++ dry-run',
    '  @@ -3,3 +3,3 @@',
    '   spec:',
    '  -  replicas: 1',
    '  +  replicas: 3',
    'Notes:',
    '  - the labels were read as kubegate',
    'Reviews:',
    '  none yet',
    'State:           pending (the command is waiting)',
    "You:             you may review it: kubegate requests approve kg-aaaaaaaaaa  |  kubegate requests deny kg-aaaaaaaaaa --comment '…'",
    'Link:            https://kubegate.example/ui/requests/kg-aaaaaaaaaa',
  ]);
});

test('show of an exec prints the command, quoted for a shell, and the container', async () => {
  service.items.set(
    'kg-eeeeeeeeee',
    pendingRequest('kg-eeeeeeeeee', {
      context: {
        targetLabels: { sensitive: 'true' },
        dryRun: null,
        diff: null,
        objects: null,
        exec: { command: ['sh', '-c', 'cat /etc/secret'], container: 'main' },
        notes: [],
      },
    }),
  );
  const r = await kubegate(['show', 'kg-eeeeeeeeee', ...as('bob')]);
  assert.ok(
    r.stdout.includes(`Exec:            sh -c 'cat /etc/secret'  (container: main)`),
    r.stdout.join('\n'),
  );
  assert.ok(r.stdout.includes('Target labels:   sensitive=true'));
});

test('show of a deletecollection lists the objects it would delete', async () => {
  service.items.set(
    'kg-dddddddddd',
    pendingRequest('kg-dddddddddd', {
      context: {
        targetLabels: null,
        dryRun: null,
        diff: null,
        objects: ['prod/old-1', 'prod/old-2'],
        exec: null,
        notes: [],
      },
    }),
  );
  const r = await kubegate(['show', 'kg-dddddddddd', ...as('bob')]);
  const at = r.stdout.indexOf('Would delete (2):');
  assert.ok(at > 0, r.stdout.join('\n'));
  assert.deepEqual(r.stdout.slice(at + 1, at + 3), ['  prod/old-1', '  prod/old-2']);
});

test("show escapes control and bidi characters from the requester's words", async () => {
  service.items.set(
    'kg-ffffffffff',
    pendingRequest('kg-ffffffffff', {
      requester: { user: 'mallory\x1b[2J', groups: ['dev\u202e'] },
      rules: [{ name: 'r', action: 'approve', message: 'line one\nApproved by security: yes' }],
      context: {
        targetLabels: { app: 'x\r\x07' },
        dryRun: null,
        diff: '--- live\n+++ dry-run\n-a: "\x1b]0;title\x07"\n+b\u2028c\n',
        objects: null,
        exec: null,
        notes: [],
      },
    }),
  );
  const r = await kubegate(['show', 'kg-ffffffffff', ...as('bob')]);
  const text = r.stdout.join('\n');
  assert.doesNotMatch(text, /(?!\n)[\p{Cc}\u202e\u2028]/u);
  assert.ok(
    r.stdout.includes('Requested by:    mallory\\x1b[2J (groups: dev\\u202e) at 2026-11-25T10:00:00.000Z'),
  );
  assert.ok(r.stdout.includes('  r (approve): line one\\nApproved by security: yes'));
  assert.ok(r.stdout.includes('Target labels:   app=x\\r\\x07'));
  assert.ok(r.stdout.includes('  -a: "\\x1b]0;title\\x07"'));
  assert.ok(r.stdout.includes('  +b\\u2028c'));
});

test('show --json prints the request with its eligibility', async () => {
  const r = await kubegate(['show', 'kg-aaaaaaaaaa', '--json', ...as('alice')]);
  const view = JSON.parse(r.stdout.join('\n')) as { id: string; eligibility: { refusal: string } };
  assert.equal(view.id, 'kg-aaaaaaaaaa');
  assert.equal(view.eligibility.refusal, 'own-request');
});

test('someone the rules do not name cannot even see the request', async () => {
  const r = await kubegate(['show', 'kg-aaaaaaaaaa', ...as('dave')]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stderr, ['kubegate: kubegate has no request "kg-aaaaaaaaaa" that you may see']);
});

test('show of an unknown request says so on stderr and exits 1', async () => {
  const r = await kubegate(['show', 'kg-zzzzzzzzzz', ...as('bob')]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stdout, []);
  assert.deepEqual(r.stderr, ['kubegate: kubegate has no request "kg-zzzzzzzzzz" that you may see']);
});

test('approve as the first of two approvers says what is still needed', async () => {
  const r = await kubegate(['approve', 'kg-aaaaaaaaaa', '--comment', 'looks fine', ...as('bob')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(r.stdout, [
    'Approved kg-aaaaaaaaaa.',
    'It still needs:',
    '  statefulsets-need-two, stage approval: 1 more of group sre (approved so far by bob)',
  ]);
  assert.deepEqual(service.calls, [
    {
      id: 'kg-aaaaaaaaaa',
      reviewer: 'bob',
      decision: 'approve',
      comment: 'looks fine',
      breakGlassReason: undefined,
    },
  ]);
});

test('the second approval decides it; a held command goes on by itself, no re-run needed', async () => {
  await kubegate(['approve', 'kg-aaaaaaaaaa', ...as('bob')]);
  const r = await kubegate(['approve', 'kg-aaaaaaaaaa', ...as('erin')]);
  assert.deepEqual(r.stdout, [
    'Approved kg-aaaaaaaaaa.',
    'The request is now approved; the waiting command goes through now (if it stopped waiting, the same command goes through once if re-run until 2026-11-25T10:09:00.000Z).',
  ]);
});

test('approving a deferred request tells the reviewer that the requester re-runs the command', async () => {
  service.items.set('kg-cccccccccc', pendingRequest('kg-cccccccccc', { mode: 'deferred', reviews: [] }));
  await kubegate(['approve', 'kg-cccccccccc', ...as('bob')]);
  const r = await kubegate(['approve', 'kg-cccccccccc', ...as('erin')]);
  assert.deepEqual(r.stdout, [
    'Approved kg-cccccccccc.',
    'The request is now approved; the requester may re-run the command once until 2026-11-25T10:09:00.000Z.',
  ]);
});

const stateRows: readonly { name: string; over: Partial<PendingRequest>; want: string }[] = [
  {
    name: 'held and approved: the waiting command goes through',
    over: { mode: 'hold', state: 'approved', grantExpiresAt: '2026-11-25T10:09:00.000Z' },
    want: 'State:           approved; the waiting command goes through now (if it stopped waiting, the same command goes through once if re-run until 2026-11-25T10:09:00.000Z)',
  },
  {
    name: 'held, approved and used: it went through',
    over: { mode: 'hold', state: 'approved', grantExpiresAt: '2026-11-25T10:09:00.000Z', grantUsed: true },
    want: 'State:           approved; the command went through',
  },
  {
    name: 'held, and the command stopped waiting: nothing was sent, the requester re-runs it',
    over: { mode: 'deferred', state: 'pending', requesterLeftAt: '2026-11-25T10:02:00.000Z' },
    want: 'State:           pending (the requester is no longer waiting: the command stopped at 2026-11-25T10:02:00.000Z; once approved, the requester re-runs it once)',
  },
  {
    name: 'approved after the command stopped waiting: the re-run goes through once',
    over: {
      mode: 'deferred',
      state: 'approved',
      requesterLeftAt: '2026-11-25T10:02:00.000Z',
      grantExpiresAt: '2026-11-25T10:09:00.000Z',
    },
    want: 'State:           approved; the requester is no longer waiting, so nothing was sent: the requester may re-run the command once until 2026-11-25T10:09:00.000Z',
  },
  {
    name: 'withdrawn by the requester',
    over: { state: 'withdrawn', decidedAt: '2026-11-25T10:03:00.000Z' },
    want: 'State:           withdrawn by its requester at 2026-11-25T10:03:00.000Z',
  },
  {
    name: 'deferred and approved: the requester may re-run it once',
    over: { mode: 'deferred', state: 'approved', grantExpiresAt: '2026-11-25T10:09:00.000Z' },
    want: 'State:           approved; the requester may re-run the command once until 2026-11-25T10:09:00.000Z',
  },
  {
    name: 'deferred, approved and used: its re-run was used',
    over: {
      mode: 'deferred',
      state: 'approved',
      grantExpiresAt: '2026-11-25T10:09:00.000Z',
      grantUsed: true,
    },
    want: 'State:           approved; its one re-run was used',
  },
];

for (const row of stateRows) {
  test(`show says what an approval lets happen: ${row.name}`, async () => {
    service.items.set('kg-dddddddddd', pendingRequest('kg-dddddddddd', row.over));
    const r = await kubegate(['show', 'kg-dddddddddd', ...as('bob')]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    assert.ok(r.stdout.includes(row.want), r.stdout.join('\n'));
    assert.ok(r.stdout.includes('Link:            https://kubegate.example/ui/requests/kg-dddddddddd'));
  });
}

test("the requester's own approval is refused with kubegate's reason, and exits 1", async () => {
  const r = await kubegate(['approve', 'kg-aaaaaaaaaa', ...as('alice')]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stdout, []);
  assert.deepEqual(r.stderr, ['kubegate refused: you cannot approve your own request']);
});

test('cancel: the requester withdraws their request; anyone else is refused with the reason, exit 1', async () => {
  let r = await kubegate(['cancel', 'kg-aaaaaaaaaa', ...as('bob')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr.join('\n'), /only the requester may withdraw kg-aaaaaaaaaa/);
  assert.equal(service.items.get('kg-aaaaaaaaaa')!.state, 'pending', 'nothing changed');
  r = await kubegate(['cancel', 'kg-aaaaaaaaaa', ...as('alice')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(r.stdout, [
    'Withdrew kg-aaaaaaaaaa. Nothing was sent; running the command again asks anew.',
  ]);
  assert.equal(service.items.get('kg-aaaaaaaaaa')!.state, 'withdrawn');
});

test('approve --break-glass sends the reason and says it is flagged', async () => {
  const r = await kubegate(['approve', 'kg-aaaaaaaaaa', '--break-glass', 'outage INC-42', ...as('alice')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.equal(
    r.stdout[0],
    'Approved your own request kg-aaaaaaaaaa with break-glass ("outage INC-42"). This is flagged in the audit trail and notified.',
  );
  assert.equal(service.calls[0]?.breakGlassReason, 'outage INC-42');
});

test('approve --standing sends the duration and scope; show prints the standing approval; revoke ends it', async () => {
  let r = await kubegate(['approve', 'kg-aaaaaaaaaa', '--standing', '2h', '--scope', 'rule', ...as('bob')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(service.calls[0]?.standing, { scope: 'rule', durationMs: 2 * 3_600_000 });
  service.items.set(
    'kg-dddddddddd',
    pendingRequest('kg-dddddddddd', {
      state: 'approved',
      decidedAt: '2026-11-25T10:02:00.000Z',
      grantExpiresAt: '2099-01-01T00:00:00.000Z',
      standing: {
        scope: 'identical',
        until: '2099-01-01T00:00:00.000Z',
        grantedBy: 'bob',
        uses: 2,
        revokedAt: null,
        revokedBy: null,
      },
    }),
  );
  r = await kubegate(['show', 'kg-dddddddddd', ...as('bob')]);
  assert.ok(
    r.stdout.includes(
      'Standing:        covers the same request again until 2099-01-01T00:00:00.000Z, given by bob; used 2 times (kubegate requests revoke ID ends it)',
    ),
    r.stdout.join('\n'),
  );
  r = await kubegate(['revoke', 'kg-dddddddddd', ...as('bob')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(r.stdout, [
    'Revoked the standing approval of kg-dddddddddd: requests like it ask for approval again.',
  ]);
  r = await kubegate(['revoke', 'kg-dddddddddd', ...as('bob')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr.join('\n'), /has no standing approval in force/u);
  r = await kubegate(['approve', 'kg-aaaaaaaaaa', '--standing', 'soon', ...as('bob')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr.join('\n'), /standing\.duration must be a duration such as "30m"/u);
});

test('deny sends the comment and says the requester sees it', async () => {
  const r = await kubegate(['deny', 'kg-aaaaaaaaaa', '--comment', 'not during the freeze', ...as('bob')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(r.stdout, ['Denied kg-aaaaaaaaaa. The requester sees your comment.']);
  assert.deepEqual(
    service.calls.map((c) => [c.decision, c.comment]),
    [['deny', 'not during the freeze']],
  );
});

test('deny without --comment is refused before anything is sent', async () => {
  await assert.rejects(
    kubegate(['deny', 'kg-aaaaaaaaaa', ...as('bob')]),
    (err: unknown) => err instanceof CommanderError && err.code === 'commander.missingMandatoryOptionValue',
  );
  assert.deepEqual(service.calls, []);
});

test('watch prints one line per event until stopped', async () => {
  const stop = new AbortController();
  const lines: string[] = [];
  const subscribed = service.whenSubscribed();
  const running = kubegate(['watch', ...as('bob')], {
    watchSignal: stop.signal,
    onLine: (line) => {
      lines.push(line);
      if (lines.length === 2) stop.abort();
    },
  });
  await subscribed;
  const p = service.items.get('kg-aaaaaaaaaa')!;
  service.emit({ type: 'created', pending: p });
  service.emit({
    type: 'reviewed',
    pending: p,
    review: {
      reviewer: 'erin',
      reviewerGroups: ['sre'],
      decision: 'approve',
      comment: 'ok',
      at: '2026-11-25T10:04:00.000Z',
      breakGlass: false,
    },
  });
  const r = await running;
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(r.stdout, [
    `2026-11-25T10:05:00Z  created    kg-aaaaaaaaaa  alice: kubectl patch statefulset db -n prod -p '{"spec":{"replicas":3}}'`,
    '2026-11-25T10:05:00Z  reviewed   kg-aaaaaaaaaa  erin approved: "ok"',
  ]);
  assert.deepEqual(r.stderr, [`Watching requests at ${url} (Ctrl-C to stop).`]);
});

test('watch reconnects when kubegate ends the stream', async () => {
  const stop = new AbortController();
  let subscribed = service.whenSubscribed();
  const running = kubegate(['watch', ...as('bob')], {
    watchSignal: stop.signal,
    onLine: () => stop.abort(),
  });
  await subscribed;
  subscribed = service.whenSubscribed();
  api.close(); // kubegate ends every watch (a restart, say)
  await subscribed; // the CLI is back
  service.emit({ type: 'expired', pending: service.items.get('kg-aaaaaaaaaa')! });
  const r = await running;
  assert.deepEqual(r.stdout, ['2026-11-25T10:05:00Z  expired    kg-aaaaaaaaaa  expired without a decision']);
});

test('a kubeconfig that skips TLS verification is refused, naming the kubeconfig', async () => {
  const file = join(dir, 'insecure.kubeconfig');
  await writeFile(
    file,
    `apiVersion: v1
kind: Config
current-context: x
clusters: [{name: c, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
`,
  );
  const r = await kubegate(['list', '--kubeconfig', file]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr[0] ?? '',
    /^cluster "c" in kubeconfig .*insecure\.kubeconfig sets insecure-skip-tls-verify: true/u,
  );
});

test("a server whose certificate the kubeconfig's CA did not sign is not trusted", async () => {
  const other = await createCertificateAuthority('another CA');
  const file = join(dir, 'other-ca.kubeconfig');
  await writeFile(
    file,
    `apiVersion: v1
kind: Config
current-context: x
clusters: [{name: c, cluster: {server: "${url}", certificate-authority-data: ${Buffer.from(other.certPem).toString('base64')}}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
`,
  );
  const r = await kubegate(['list', '--kubeconfig', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr[0] ?? '', new RegExp(`^cannot reach kubegate at ${url}: [A-Z_]+`, 'u'));
});

test("a token kubegate does not know is refused with the gateway's words", async () => {
  const file = join(dir, 'stranger.kubeconfig');
  await writeFile(
    file,
    `apiVersion: v1
kind: Config
current-context: x
clusters: [{name: c, cluster: {server: "${url}", certificate-authority: ${join(dir, 'pki', 'ca.crt')}}}]
users: [{name: u, user: {token: kg_not-a-real-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
`,
  );
  const r = await kubegate(['list', '--kubeconfig', file]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr[0] ?? '',
    /^kubegate could not authenticate you: your bearer token is not one kubegate issued/u,
  );
});

test("the client's errors carry kubegate's code: the one the answer names, or KG_CLI_NO_ANSWER", async () => {
  const connection = await connectionFromKubeconfig(kubeconfigs.alice!);
  const client = createReviewerClient(connection);
  const unreachable = createReviewerClient({ ...connection, server: 'https://127.0.0.1:1' });
  const coded = (code: string, message: RegExp) => (err: unknown) =>
    err instanceof KubegateError && err.code === code && message.test(err.message);
  try {
    await assert.rejects(
      client.approve('kg-aaaaaaaaaa'),
      coded('KG_REVIEW_OWN_REQUEST', /^kubegate refused: you cannot approve your own request$/u),
    );
    await assert.rejects(
      client.get('kg-zzzzzzzzzz'),
      coded('KG_REVIEW_NOT_FOUND', /^kubegate: kubegate has no request "kg-zzzzzzzzzz"/u),
    );
    await assert.rejects(
      unreachable.list(),
      coded('KG_CLI_NO_ANSWER', /^cannot reach kubegate at https:\/\/127\.0\.0\.1:1: [A-Z_]+$/u),
    );
  } finally {
    await client.close();
    await unreachable.close();
  }
});

// ---- the requester's view: list --mine, wait ------------------------------------------------

test("list --mine shows only the caller's own requests; a reviewer has none of their own", async () => {
  service.items.set(
    'kg-cccccccccc',
    pendingRequest('kg-cccccccccc', { requester: { user: 'erin', groups: ['sre'] } }),
  );
  let r = await kubegate(['list', '--mine', ...as('alice')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(
    r.stdout.slice(1).map((l) => l.split(' ')[0]),
    ['kg-aaaaaaaaaa'],
  );
  r = await kubegate(['list', '--all', '--mine', ...as('alice')]);
  assert.deepEqual(
    r.stdout.slice(1).map((l) => l.split(' ')[0]),
    ['kg-aaaaaaaaaa', 'kg-bbbbbbbbbb'],
  );
  r = await kubegate(['list', '--mine', ...as('bob')]);
  assert.deepEqual(r.stdout, ['No requests of yours are waiting for approval.']);
  r = await kubegate(['list', ...as('bob')]);
  assert.equal(r.stdout.length, 3, 'without --mine bob sees both requests he may review');
});

const erinApproves = {
  reviewer: 'erin',
  reviewerGroups: ['sre'],
  decision: 'approve' as const,
  comment: '',
  at: '2026-11-25T10:04:00.000Z',
  breakGlass: false,
};

test('wait: the requester sees who must still approve, each change, and exits 0 once approved', async () => {
  const subscribed = service.whenSubscribed();
  let onReview = (): void => undefined;
  const reviewSeen = new Promise<void>((resolve) => (onReview = resolve));
  const running = kubegate(['wait', 'kg-aaaaaaaaaa', ...as('alice')], {
    onLine: (line) => {
      if (line.startsWith('Who must still approve: 1 more')) onReview();
    },
  });
  await subscribed;
  const p = service.items.get('kg-aaaaaaaaaa')!;
  const once = { ...p, reviews: [erinApproves] };
  service.items.set(p.id, once);
  service.emit({ type: 'reviewed', pending: once, review: erinApproves });
  await reviewSeen;
  const bobs = { ...erinApproves, reviewer: 'bob' };
  const approved: PendingRequest = {
    ...once,
    reviews: [erinApproves, bobs],
    state: 'approved',
    stageIndex: [1],
    decidedAt: '2026-11-25T10:04:30.000Z',
    grantExpiresAt: '2026-11-25T10:09:00.000Z',
  };
  service.items.set(p.id, approved);
  service.emit({ type: 'reviewed', pending: approved, review: bobs });
  service.emit({ type: 'decided', pending: approved });
  const r = await running;
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(r.stdout, [
    `kg-aaaaaaaaaa: kubectl patch statefulset db -n prod -p '{"spec":{"replicas":3}}'`,
    'Pending (your command is waiting and goes through once approved).',
    'Who must still approve: 2 of group sre (rule "statefulsets-need-two").',
    'erin approved. Pending (your command is waiting and goes through once approved).',
    'Who must still approve: 1 more of group sre (approved so far by erin) (rule "statefulsets-need-two").',
    'Approved by erin, bob: your waiting command goes through now (if it stopped waiting, run it again: it goes through once until 2026-11-25T10:09:00.000Z).',
  ]);
});

test('wait on a deferred request that is approved says to run the command again', async () => {
  service.items.set(
    'kg-aaaaaaaaaa',
    pendingRequest('kg-aaaaaaaaaa', {
      mode: 'deferred',
      state: 'approved',
      reviews: [erinApproves],
      decidedAt: '2026-11-25T10:04:00.000Z',
      grantExpiresAt: '2026-11-25T10:09:00.000Z',
    }),
  );
  const r = await kubegate(['wait', 'kg-aaaaaaaaaa', ...as('alice')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.equal(
    r.stdout.at(-1),
    'Approved by erin: nothing was sent: run the same command again and it goes through once until 2026-11-25T10:09:00.000Z.',
  );
});

test('wait on a denied request prints the denial and its comment, and exits 1', async () => {
  service.items.set(
    'kg-bbbbbbbbbb',
    pendingRequest('kg-bbbbbbbbbb', {
      state: 'denied',
      reviews: [{ ...erinApproves, decision: 'deny', comment: 'not\u001b[2J now' }],
      decidedAt: '2026-11-25T10:04:00.000Z',
    }),
  );
  const r = await kubegate(['wait', 'kg-bbbbbbbbbb', ...as('alice')]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout.at(-1), 'Denied by erin: "not\\x1b[2J now". Nothing was sent (kg-bbbbbbbbbb).');
});

test('wait on an unknown request says so and exits 1', async () => {
  const r = await kubegate(['wait', 'kg-zzzzzzzzzz', ...as('alice')]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stdout, []);
  assert.deepEqual(r.stderr, ['kubegate: kubegate has no request "kg-zzzzzzzzzz" that you may see']);
});

test("wait on someone else's request is refused, even for a reviewer who may see it", async () => {
  const r = await kubegate(['wait', 'kg-aaaaaaaaaa', ...as('bob')]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stdout, []);
  assert.match(r.stderr.join('\n'), /was asked by alice, not you: `requests wait` follows your own requests/);
});

test('wait stopped with Ctrl-C while pending says so and exits 1', async () => {
  const stop = new AbortController();
  const subscribed = service.whenSubscribed();
  const running = kubegate(['wait', 'kg-aaaaaaaaaa', ...as('alice')], { watchSignal: stop.signal });
  await subscribed;
  stop.abort();
  const r = await running;
  assert.equal(r.code, 1);
  assert.deepEqual(r.stderr, ['Stopped waiting; kg-aaaaaaaaaa is still pending.']);
});

test("show prints the requester's reason, escaped", async () => {
  service.items.set(
    'kg-aaaaaaaaaa',
    pendingRequest('kg-aaaaaaaaaa', { reason: 'INC-4711 <script>x</script> \u001b[2J' }),
  );
  const r = await kubegate(['show', 'kg-aaaaaaaaaa', ...as('bob')]);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.ok(
    r.stdout.includes('Reason:          "INC-4711 <script>x</script> \\x1b[2J"'),
    r.stdout.join('\n'),
  );
});
