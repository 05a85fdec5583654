// Query options compared as the API server converts them (issue 11, item 3). apimachinery reads a
// bool option as true for anything but "0" or "false" (any case) and an integer option as Go's
// strconv.ParseInt does; kubegate compared the text, so `query: {force: true}`, `tty: true` and
// `stdin: true` rules were bypassed by force=1, tty=True, stdin=, and an integer rule by +01000.
//
// Both halves, against the test bed's real API server:
//   1. As admin, straight to the API server: a server-side apply that conflicts is refused (409)
//      without force and with force=false/0, and overrides with force=1, True, an empty value or a
//      bare `force`; exec over WebSocket (v5.channel.k8s.io) with stdin= reads stdin like stdin=1
//      and unlike stdin=0, and with tty=True or tty= gets a terminal (the pty echoes the input),
//      unlike tty=0; logs with timestamps=True get timestamps and tailLines=+1 one line, while
//      tailLines=1e0 is a 400; a dry-run delete with gracePeriodSeconds=+5 is a 5-second grace.
//   2. Through a real kubegate whose rules deny forced applies, terminal and stdin exec,
//      timestamped logs, long log tails and immediate deletes: every such spelling is denied
//      with the rule's message and changes nothing; the canonical "off" spellings go through.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, WebSocket } from 'undici';
import { stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { sendRaw, type RawEndpoint, type RawResponse } from '../fixtures/raw-http.js';
import { kubectl } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

const suffix = randomBytes(3).toString('hex');
const ns = `qopt-e2e-${suffix}`;
const group = `qopt-e2e-${suffix}`;
const CM = `/api/v1/namespaces/${ns}/configmaps`;
const PODS = `/api/v1/namespaces/${ns}/pods`;
const POD = 'web';

let tb: TestbedState;
let gw: GatewayHandle;
let dir: string;
let userToken: string;

const MESSAGES = {
  force: 'Forced applies need a reviewer.',
  tty: 'No terminals in pods.',
  stdin: 'No interactive exec.',
  timestamps: 'No timestamped logs.',
  tail: 'No long log tails.',
  grace: 'Pods get their grace period.',
};

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'no-forced-apply',
      match: { verbs: ['patch'], resources: ['configmaps'], query: { force: true } },
      action: 'deny',
      message: MESSAGES.force,
    },
    {
      name: 'no-tty',
      match: { resources: ['pods/exec', 'pods/attach'], query: { tty: true } },
      action: 'deny',
      message: MESSAGES.tty,
    },
    {
      name: 'no-stdin',
      match: { resources: ['pods/exec', 'pods/attach'], query: { stdin: true } },
      action: 'deny',
      message: MESSAGES.stdin,
    },
    {
      name: 'no-timestamps',
      match: { resources: ['pods/log'], query: { timestamps: true } },
      action: 'deny',
      message: MESSAGES.timestamps,
    },
    {
      name: 'no-long-tails',
      match: { resources: ['pods/log'], query: { tailLines: 're:[0-9]{4,}' } },
      action: 'deny',
      message: MESSAGES.tail,
    },
    {
      name: 'grace-period',
      match: { verbs: ['delete'], resources: ['pods'], query: { gracePeriodSeconds: 0 } },
      action: 'deny',
      message: MESSAGES.grace,
    },
  ],
};

const admin = (args: string[]) => kubectl(args, { kubeconfig: tb.adminKubeconfig });

const apiServer = (): RawEndpoint => ({ url: tb.server, caPem: tb.caPem });
const gateway = (): RawEndpoint => ({ url: gw.url, caPem: gw.caPem });

function call(
  endpoint: RawEndpoint,
  token: string,
  method: string,
  target: string,
  body?: { contentType: string; text: string },
): Promise<RawResponse> {
  return sendRaw(endpoint, {
    method,
    target,
    headers: [
      ['Authorization', `Bearer ${token}`],
      ['Accept', 'application/json'],
      ...(body === undefined ? [] : ([['Content-Type', body.contentType]] as [string, string][])),
    ],
    body: body?.text ?? null,
  });
}

const asAdmin = (method: string, target: string, body?: { contentType: string; text: string }) =>
  call(apiServer(), tb.users.admin!.token, method, target, body);
const asUser = (method: string, target: string, body?: { contentType: string; text: string }) =>
  call(gateway(), userToken, method, target, body);

const json = (res: RawResponse): Record<string, unknown> =>
  JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;

function assertDenied(res: RawResponse, message: string, what: string): void {
  assert.equal(res.status, 403, `${what}: ${res.body.toString()}`);
  assert.equal(json(res).message, message, what);
}

const apply = (value: string) => ({
  contentType: 'application/apply-patch+yaml',
  text: JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'owned' },
    data: { k: value },
  }),
});

interface ExecResult {
  readonly stdout: string;
  readonly status: string;
}

/**
 * An exec over WebSocket (v5.channel.k8s.io) of `head -c 3`: sends `input` on stdin (channel 0)
 * and collects stdout (channel 1) and the final status (channel 3) until the connection ends.
 * Without stdin the server drops the input and head ends at once, sometimes before the input
 * arrives: the connection may then end without a close frame, which is not a failure here.
 */
function execOverWebSocket(
  endpoint: RawEndpoint,
  token: string,
  query: string,
  input: string,
): Promise<ExecResult> {
  const url = `${endpoint.url.replace(/^https/u, 'wss')}${PODS}/${POD}/exec?command=head&command=-c&command=3&${query}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(url, {
      protocols: ['v5.channel.k8s.io'],
      dispatcher: new Agent({ connect: { ca: endpoint.caPem } }),
      headers: { Authorization: `Bearer ${token}` },
    });
    ws.binaryType = 'arraybuffer';
    let stdout = '';
    let status = '';
    ws.onopen = () => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(input)]));
    ws.onmessage = (event) => {
      const frame = Buffer.from(event.data as ArrayBuffer);
      if (frame[0] === 1) stdout += frame.subarray(1).toString();
      if (frame[0] === 3) status += frame.subarray(1).toString();
    };
    // A deadline, so that a command left waiting for input fails the test instead of hanging it.
    const deadline = setTimeout(() => ws.close(), 20_000);
    ws.onclose = () => {
      clearTimeout(deadline);
      resolve({ stdout, status });
    };
  });
}

async function podIsRunning(): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await asAdmin('GET', `${PODS}/${POD}`);
    if (res.status === 200 && (json(res).status as { phase?: string }).phase === 'Running') return;
    if (Date.now() > deadline) assert.fail(`pod ${POD} is not running: ${res.body.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

before(async () => {
  tb = await useTestbed();
  dir = await mkdtemp(join(tmpdir(), 'kubegate-qopt-e2e-'));
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, stringify(policy));
  gw = await startGateway(tb, { config: { policy: { file: policyFile } } });
  let r = await admin(['create', 'namespace', ns]);
  assert.equal(r.code, 0, r.stderr);
  r = await admin(['create', 'rolebinding', 'edit', '-n', ns, '--clusterrole=edit', `--group=${group}`]);
  assert.equal(r.code, 0, r.stderr);
  userToken = await gw.tokenFor(`qopt-user-${suffix}`, [group]);
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: POD },
    spec: { nodeName: tb.nodeName, containers: [{ name: 'main', image: 'registry.example/web:1' }] },
  };
  const created = await asAdmin('POST', PODS, { contentType: 'application/json', text: JSON.stringify(pod) });
  assert.equal(created.status, 201, created.body.toString());
  // The configmap a second field manager will conflict with.
  const owned = await asAdmin('PATCH', `${CM}/owned?fieldManager=owner`, apply('a'));
  assert.equal(owned.status, 201, owned.body.toString());
  await podIsRunning();
});

after(async () => {
  await gw?.stop();
  if (tb) await admin(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function ownedValue(): Promise<unknown> {
  const res = await asAdmin('GET', `${CM}/owned`);
  return (json(res).data as Record<string, unknown>).k;
}

// ---------------------------------------------------------------------------------------------
// PatchOptions.force
// ---------------------------------------------------------------------------------------------

const FORCED = ['force=true', 'force=1', 'force=True', 'force=', 'force'];
const UNFORCED = ['force=false', 'force=0', 'force=FALSE'];

test('the API server forces a conflicting apply for force=1, True, empty and bare, not for false or 0', async () => {
  const target = (q: string) => `${CM}/owned?fieldManager=other&dryRun=All${q === '' ? '' : `&${q}`}`;
  for (const q of FORCED) {
    const res = await asAdmin('PATCH', target(q), apply('b'));
    assert.equal(res.status, 200, `${q}: ${res.body.toString()}`);
  }
  for (const q of ['', ...UNFORCED]) {
    const res = await asAdmin('PATCH', target(q), apply('b'));
    assert.equal(res.status, 409, `${q}: ${res.body.toString()}`);
  }
});

test('kubegate denies a forced apply whatever the spelling, and forwards an unforced one', async () => {
  for (const q of FORCED) {
    const res = await asUser('PATCH', `${CM}/owned?fieldManager=other&${q}`, apply('b'));
    assertDenied(res, MESSAGES.force, q);
  }
  assert.equal(await ownedValue(), 'a');
  for (const q of UNFORCED) {
    // Forwarded, and the API server refuses the conflict itself.
    const res = await asUser('PATCH', `${CM}/owned?fieldManager=other&${q}`, apply('b'));
    assert.equal(res.status, 409, `${q}: ${res.body.toString()}`);
  }
});

// ---------------------------------------------------------------------------------------------
// PodExecOptions.stdin and .tty
// ---------------------------------------------------------------------------------------------

test('the API server reads exec stdin= as stdin and tty=True or tty= as a terminal', async () => {
  const token = tb.users.admin!.token;
  for (const q of ['stdin=1', 'stdin=']) {
    const r = await execOverWebSocket(apiServer(), token, `stdout=1&${q}`, 'abcdef\n');
    assert.equal(r.stdout, 'abc', q);
    assert.match(r.status, /"status":"Success"/, q);
  }
  for (const q of ['stdin=0', 'stdin=False']) {
    const r = await execOverWebSocket(apiServer(), token, `stdout=1&${q}`, 'abcdef\n');
    assert.equal(r.stdout, '', `${q}: the command got no stdin`);
    assert.match(r.status, /"status":"Success"/, q);
  }
  // A terminal echoes its input (the pty's line discipline, with \r\n) before the command's own
  // output; that echo is the proof, as nothing without a terminal writes it. kwok may close the
  // pty before it has read all of it (seen on a loaded machine: the command's 'abc' cut, once the
  // echo too), so a cut run is tried again; one whole echo proves the terminal. 'abc' alone is
  // what a command without a terminal writes: not tried again.
  const echoed = /^abcdef\r\n(?:abc)?$/u;
  for (const q of ['tty=True', 'tty=']) {
    const runs: string[] = [];
    let out: string;
    do {
      out = (await execOverWebSocket(apiServer(), token, `stdout=1&stdin=1&${q}`, 'abcdef\n')).stdout;
      runs.push(out);
    } while (runs.length < 5 && out !== 'abc' && !echoed.test(out));
    assert.match(out, echoed, `${q}: ${JSON.stringify(runs)}`);
  }
  for (const q of ['tty=0', 'tty=false']) {
    const r = await execOverWebSocket(apiServer(), token, `stdout=1&stdin=1&${q}`, 'abcdef\n');
    assert.equal(r.stdout, 'abc', q);
  }
});

test('kubegate denies exec with a terminal or stdin whatever the spelling', async () => {
  for (const method of ['GET', 'POST']) {
    for (const q of ['tty=true', 'tty=True', 'tty=', 'tty=1', 'tty']) {
      const res = await asUser(method, `${PODS}/${POD}/exec?command=sh&stdout=1&${q}`);
      assertDenied(res, MESSAGES.tty, `${method} exec ${q}`);
    }
    for (const q of ['stdin=true', 'stdin=', 'stdin=1', 'stdin=yes']) {
      const res = await asUser(method, `${PODS}/${POD}/exec?command=sh&stdout=1&${q}`);
      assertDenied(res, MESSAGES.stdin, `${method} exec ${q}`);
    }
  }
  const attach = await asUser('POST', `${PODS}/${POD}/attach?stdout=1&stdin=`);
  assertDenied(attach, MESSAGES.stdin, 'attach stdin=');
  // Without stdin and terminal the exec goes through and runs (head gets no input).
  const r = await execOverWebSocket(gateway(), userToken, 'stdout=1&stdin=0&tty=0', 'abcdef\n');
  assert.equal(r.stdout, '');
  assert.match(r.status, /"status":"Success"/);
});

// ---------------------------------------------------------------------------------------------
// PodLogOptions.timestamps and .tailLines
// ---------------------------------------------------------------------------------------------

const TIMESTAMPED = /^\d{4}-\d{2}-\d{2}T\S+Z /mu;

test('the API server reads logs timestamps=True as timestamps and tailLines=+1 as 1', async () => {
  const log = (q: string) => asAdmin('GET', `${PODS}/${POD}/log?${q}`);
  for (const q of ['timestamps=True', 'timestamps='])
    assert.match((await log(q)).body.toString(), TIMESTAMPED, q);
  assert.doesNotMatch((await log('timestamps=0')).body.toString(), TIMESTAMPED);
  for (const q of ['tailLines=%2B1', 'tailLines=01']) {
    const res = await log(q);
    assert.equal(res.body.toString().trim().split('\n').length, 1, `${q}: ${res.body.toString()}`);
  }
  const bad = await log('tailLines=1e0');
  assert.equal(bad.status, 400, bad.body.toString());
});

test('kubegate denies timestamped logs and long tails whatever the spelling', async () => {
  for (const q of ['timestamps=true', 'timestamps=True', 'timestamps=', 'timestamps=1']) {
    assertDenied(await asUser('GET', `${PODS}/${POD}/log?${q}`), MESSAGES.timestamps, q);
  }
  for (const q of ['tailLines=1000', 'tailLines=%2B1000', 'tailLines=01000', 'tailLines=%2B0001000']) {
    assertDenied(await asUser('GET', `${PODS}/${POD}/log?${q}`), MESSAGES.tail, q);
  }
  // A value the API server refuses is unknown to the rule: it fails closed, and the API server
  // would have refused the request anyway.
  assertDenied(await asUser('GET', `${PODS}/${POD}/log?tailLines=1e9`), MESSAGES.tail, 'tailLines=1e9');
  const ok = await asUser('GET', `${PODS}/${POD}/log?timestamps=0&tailLines=%2B1`);
  assert.equal(ok.status, 200, ok.body.toString());
  assert.equal(ok.body.toString().trim().split('\n').length, 1);
});

// ---------------------------------------------------------------------------------------------
// DeleteOptions.gracePeriodSeconds
// ---------------------------------------------------------------------------------------------

test('the API server reads gracePeriodSeconds=+5 as 5 and refuses 5x', async () => {
  const res = await asAdmin('DELETE', `${PODS}/${POD}?dryRun=All&gracePeriodSeconds=%2B5`);
  assert.equal(res.status, 200, res.body.toString());
  assert.equal((json(res).metadata as Record<string, unknown>).deletionGracePeriodSeconds, 5);
  const bad = await asAdmin('DELETE', `${PODS}/${POD}?dryRun=All&gracePeriodSeconds=5x`);
  assert.equal(bad.status, 400, bad.body.toString());
});

test('kubegate denies an immediate delete whatever the spelling, and the pod stays', async () => {
  for (const q of [
    'gracePeriodSeconds=0',
    'gracePeriodSeconds=%2B0',
    'gracePeriodSeconds=-0',
    'gracePeriodSeconds=000',
  ]) {
    assertDenied(await asUser('DELETE', `${PODS}/${POD}?${q}`), MESSAGES.grace, q);
  }
  assertDenied(
    await asUser('DELETE', `${PODS}/${POD}`, {
      contentType: 'application/json',
      text: '{"gracePeriodSeconds":0}',
    }),
    MESSAGES.grace,
    'a body with gracePeriodSeconds 0',
  );
  assert.equal((await asAdmin('GET', `${PODS}/${POD}`)).status, 200);
});
