// YAML request bodies read as the API server reads them (issue 11, item 2). The API server turns
// application/yaml and application/apply-patch+yaml bodies into JSON with sigs.k8s.io/yaml
// (go-yaml v2); kubegate reads them in src/request/yaml-body.ts and refuses what it cannot be sure
// to read the same (KG_REQUEST_BODY_UNSUPPORTED).
//
// Both halves, against the test bed's real API server:
//   1. A differential run: a corpus of ConfigMap bodies (string styles, block scalars, folding,
//      escapes, flow collections, comments, JSON in YAML, numbers and booleans as keys and values,
//      and every hostile form) goes to the API server directly as admin, as a dry-run create
//      (application/yaml) and as a dry-run server-side apply (application/apply-patch+yaml). Where
//      kubegate accepts a body and the API server does too, kubegate's reading (withBody) of the
//      name, labels, annotations and data equals the object the API server returned. Every
//      hostile form is refused by kubegate, and for the ones marked so the API server is shown to
//      read something npm yaml (kubegate's old reader) does not.
//   2. Through a real kubegate: a deny rule on `names: [prod-*]`, one on the label env=prod and
//      one on non-dry-run deletes are bypassed by `name: !!binary cHJvZC1kYg==`, a merge key after
//      an explicit name, a !!binary label in a server-side apply, and a DELETE body whose merge
//      key turns `dryRun: [All]` into a real delete, each first shown on the API server itself;
//      kubegate refuses every one with the Status, forwards nothing, and still lets plain YAML
//      through (and denies plain YAML named prod-*).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseNpmYaml, stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { mapLimit, sendRaw, type RawResponse } from '../fixtures/raw-http.js';
import { kubectl } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { KubegateError } from '../../src/errors.js';
import { withBody } from '../../src/request/body.js';
import { parseRequest } from '../../src/request/parse.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

const suffix = randomBytes(3).toString('hex');
const ns = `yaml-e2e-${suffix}`;
const group = `yaml-e2e-${suffix}`;
const CM = `/api/v1/namespaces/${ns}/configmaps`;

let tb: TestbedState;
let gw: GatewayHandle;
let dir: string;
let userToken: string;

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

interface Row {
  readonly name: string;
  readonly body: string | Buffer;
  /** A form kubegate must refuse. */
  readonly hostile?: boolean;
  /**
   * For hostile rows: what the API server reads (a dry-run create must answer with these fields),
   * which npm yaml's own reading of the text does not give.
   */
  readonly apiServerReads?: Partial<Fields>;
}

const head = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

const rows: Row[] = [
  // --- ordinary YAML, as people write it ---
  { name: 'block mappings', body: `${head('c-block')}  labels:\n    app: web\ndata:\n  k: v\n` },
  {
    name: 'comments everywhere',
    body: `# top\n${head('c-comments')}  # inside\n  labels: # after\n    app: web # end\ndata:\n  k: v#not-a-comment\n# bottom\n`,
  },
  {
    name: 'quoted styles',
    body: `${head('c-quoted')}  annotations:\n    d: "double \\"q\\" \\t tab"\n    s: 'single ''q'''\n    u: "\\u00e9\\x41\\U0001F600"\ndata:\n  k: "yes"\n  n: '0o17'\n`,
  },
  {
    name: 'literal and folded block scalars with chomping',
    body: `${head('c-blocks')}data:\n  a: |\n    line 1\n    line 2\n  b: |-\n    kept\n  c: |+\n    x\n\n  d: >\n    folded\n    text\n\n    para\n  e: >-\n    x\n     more\n  f: >+\n    y\n\n`,
  },
  {
    name: 'a multi-line plain scalar folds',
    body: `${head('c-fold')}  annotations:\n    note: one\n      two\n\n      three\ndata: {}\n`,
  },
  {
    name: 'flow mappings and sequences',
    body: `${head('c-flow')}  labels: {app: web, tier: "1"}\n  annotations: {"a": "x", b: z}\ndata: {k1: v1, "k2": 'v2'}\n`,
  },
  {
    name: 'a flow mapping over several lines',
    body: `${head('c-flow-lines')}  labels: {\n    app: web,\n    tier: front\n  }\ndata: {}\n`,
  },
  {
    name: 'JSON text',
    body: JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c-json', labels: { a: 'b' } },
      data: { k: 'v' },
    }),
  },
  {
    name: 'pretty-printed JSON with escapes',
    body: `${JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c-json-pretty', annotations: { e: 'tab\tnl\n\u00e9\u{1F600}"' } }, data: { k: 'v' } }, null, 2)}\n`,
  },
  {
    name: 'a JSON flow mapping inside block YAML',
    body: `${head('c-json-in-yaml')}  labels: {"app":"web"}\ndata: {"k":"v"}\n`,
  },
  { name: 'a leading document marker and an end marker', body: `---\n${head('c-markers')}data: {}\n...\n` },
  { name: 'CRLF line ends', body: `${head('c-crlf')}data:\n  k: v\n`.replaceAll('\n', '\r\n') },
  {
    name: 'a UTF-8 byte order mark',
    body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${head('c-bom')}data: {}\n`)]),
  },
  {
    name: 'keys that go-yaml types: 0o17, 0x10, yes, on, 1_0',
    body: `${head('c-keys')}  labels:\n    on: x\ndata:\n  0o17: a\n  0x10: b\n  yes: c\n  1_0: d\n  007: e\n`,
  },
  {
    name: 'values that look like numbers and booleans, quoted',
    body: `${head('c-quoted-types')}  labels:\n    a: "true"\n    b: "1"\ndata:\n  a: "0x10"\n  b: '1e3'\n  c: "~"\n  d: "null"\n`,
  },
  {
    name: 'unquoted booleans in data (the API server refuses them)',
    body: `${head('c-bool-data')}data:\n  a: yes\n`,
  },
  {
    name: 'unquoted numbers in labels (the API server refuses them)',
    body: `${head('c-num-label')}  labels:\n    a: 0o17\n`,
  },
  {
    name: 'y is a boolean (the API server refuses it as an annotation)',
    body: `${head('c-y')}  annotations: {b: y}\n`,
  },
  { name: 'a null label value', body: `${head('c-null-label')}  labels:\n    a: ~\ndata: {}\n` },
  { name: 'an empty data value', body: `${head('c-empty-value')}data:\n  a: ""\n  b: ''\n` },
  {
    name: 'a timestamp-looking value, quoted and not',
    body: `${head('c-time')}  annotations:\n    a: 2024-01-01\n    b: "2024-01-01"\n`,
  },
  {
    name: 'a name in double quotes',
    body: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "c-dq-name"\n`,
  },
  {
    name: 'a name in a folded block scalar',
    body: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: >-\n    c-folded-name\n`,
  },
  {
    name: 'indented sequences',
    body: `${head('c-seq')}  finalizers:\n  - example.com/a\n  -   example.com/b\ndata: {}\n`,
  },
  { name: 'tabs inside values', body: `${head('c-tabs')}data:\n  a: "x\ty"\n  b: x\ty\n` },

  // --- hostile: forms go-yaml v2 and npm yaml read differently ---
  {
    name: '!!binary name',
    body: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: !!binary cHJvZC1kYg==\n`,
    hostile: true,
    apiServerReads: { name: 'prod-db' },
  },
  {
    name: 'a merge key after an explicit name',
    body: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: safe-x\n  <<: {name: prod-db}\n`,
    hostile: true,
    apiServerReads: { name: 'prod-db' },
  },
  {
    name: 'a !!binary label value',
    body: `${head('h-binary-label')}  labels:\n    env: !!binary cHJvZA==\n`,
    hostile: true,
    apiServerReads: { labels: { env: 'prod' } },
  },
  {
    name: 'a lone CR after the name',
    body: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod-db\r  labels: {a: b}\n`,
    hostile: true,
    apiServerReads: { name: 'prod-db', labels: { a: 'b' } },
  },
  {
    name: 'a block scalar at the end without a line break',
    body: `${head('h-block-end')}data:\n  k: |\n    x`,
    hostile: true,
    apiServerReads: { data: { k: 'x' } },
  },
  {
    name: 'a double-quoted string continued with a backslash',
    body: `${head('h-escaped-break')}  annotations:\n    a: "x\\\n\n     y"\n`,
    hostile: true,
    apiServerReads: { annotations: { a: 'x\ny' } },
  },
  {
    name: "a quoted string npm yaml ends too early ('''…)",
    body: `${head('h-quote-end')}  annotations:\n    a: '''\n#x'\n`,
    hostile: true,
    apiServerReads: { annotations: { a: "' #x" } },
  },
  {
    name: 'a JSON number too large for a float64',
    body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"h-big-number"},"data":{"k":1e400}}',
    hostile: true,
    apiServerReads: { data: { k: '1e400' } },
  },
  {
    name: 'a raw NEL in a JSON string',
    body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"h-nel","annotations":{"a":"x\u0085y"}}}',
    hostile: true,
    apiServerReads: { annotations: { a: 'x y' } },
  },
  {
    name: 'a %YAML 1.2 directive (npm yaml would read yes as a string)',
    body: `%YAML 1.2\n---\n${head('h-directive')}data:\n  k: yes\n`,
    hostile: true,
  },
  {
    name: 'two documents',
    body: `${head('prod-db')}---\n${head('h-second')}`,
    hostile: true,
    apiServerReads: { name: 'prod-db' },
  },
  { name: 'a !!str tag', body: `${head('h-str')}data:\n  k: !!str 1\n`, hostile: true },
  { name: 'the non-specific ! tag', body: `${head('h-bang')}data:\n  k: ! x\n`, hostile: true },
  {
    name: 'an anchor and an alias',
    body: `${head('h-alias')}  labels: &l {a: b}\n  annotations: *l\n`,
    hostile: true,
  },
  { name: 'a duplicate key', body: `${head('h-dup')}data:\n  k: a\n  k: b\n`, hostile: true },
  { name: 'an .inf value', body: `${head('h-inf')}data:\n  k: .inf\n`, hostile: true },
  { name: 'a float key', body: `${head('h-float-key')}data:\n  1.5: a\n`, hostile: true },
  {
    name: 'a colon before a comma in a flow mapping',
    body: `${head('h-flow-colon')}data: {k:, j: x}\n`,
    hostile: true,
  },
  { name: 'YAML npm yaml cannot parse', body: `${head('h-unparsed')}data: {k: [-]}\n`, hostile: true },
];

// ---------------------------------------------------------------------------------------------
// Readings
// ---------------------------------------------------------------------------------------------

interface Fields {
  readonly name: unknown;
  readonly labels: unknown;
  readonly annotations: unknown;
  readonly data: unknown;
}

function fieldsOf(object: unknown): Fields {
  const o = (object ?? {}) as { metadata?: Record<string, unknown>; data?: unknown };
  return {
    name: o.metadata?.name,
    labels: o.metadata?.labels ?? {},
    annotations: o.metadata?.annotations ?? {},
    data: o.data ?? {},
  };
}

/** kubegate's reading of a body sent to `target`, or the refusal's code. */
function kubegateReading(method: string, target: string, contentType: string, body: Buffer): Fields | string {
  try {
    const request = parseRequest({ method, target, headers: { 'content-type': contentType } });
    const read = withBody(request, body);
    return read.object === null ? 'unread' : fieldsOf(read.object);
  } catch (err) {
    if (err instanceof KubegateError) return err.code;
    throw err;
  }
}

const bytes = (b: string | Buffer): Buffer => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b);

function asAdmin(
  method: string,
  target: string,
  contentType: string,
  body: Buffer | null,
): Promise<RawResponse> {
  return sendRaw(
    { url: tb.server, caPem: tb.caPem },
    {
      method,
      target,
      headers: [
        ['Authorization', `Bearer ${tb.users.admin!.token}`],
        ['Accept', 'application/json'],
        ...(body === null ? [] : ([['Content-Type', contentType]] as [string, string][])),
      ],
      body,
    },
  );
}

function asUser(
  method: string,
  target: string,
  contentType: string,
  body: Buffer | null,
): Promise<RawResponse> {
  return sendRaw(
    { url: gw.url, caPem: gw.caPem },
    {
      method,
      target,
      headers: [
        ['Authorization', `Bearer ${userToken}`],
        ['Accept', 'application/json'],
        ...(body === null ? [] : ([['Content-Type', contentType]] as [string, string][])),
      ],
      body,
    },
  );
}

const json = (res: RawResponse): Record<string, unknown> =>
  JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;

interface Outcome {
  readonly row: Row;
  readonly kubegate: Fields | string;
  readonly status: number;
  readonly apiServer: Fields | null;
}

/** Each row as a dry-run create (application/yaml) to the API server, and as kubegate reads it. */
async function runCreates(): Promise<Outcome[]> {
  return mapLimit(rows, 8, async (row) => {
    const body = bytes(row.body);
    const target = `${CM}?dryRun=All`;
    const kubegate = kubegateReading('POST', target, 'application/yaml', body);
    const res = await asAdmin('POST', target, 'application/yaml', body);
    return { row, kubegate, status: res.status, apiServer: res.status < 300 ? fieldsOf(json(res)) : null };
  });
}

/**
 * Each row as a dry-run server-side apply. The URL names the object; the API server refuses a
 * body whose name differs, so the URL takes the name the API server reads (for hostile rows) or
 * kubegate reads.
 */
async function runApplies(): Promise<Outcome[]> {
  return mapLimit(rows, 8, async (row) => {
    const body = bytes(row.body);
    const probe = kubegateReading('POST', CM, 'application/yaml', body);
    const name =
      (row.apiServerReads?.name as string | undefined) ??
      (typeof probe === 'string' ? undefined : (probe.name as string | undefined)) ??
      (/name: (\S+)/.exec(body.toString('utf8'))?.[1] ?? 'x').replaceAll('"', '');
    const target = `${CM}/${name}?fieldManager=yaml-e2e&force=true&dryRun=All`;
    const kubegate = kubegateReading('PATCH', target, 'application/apply-patch+yaml', body);
    const res = await asAdmin('PATCH', target, 'application/apply-patch+yaml', body);
    return { row, kubegate, status: res.status, apiServer: res.status < 300 ? fieldsOf(json(res)) : null };
  });
}

function checkDifferential(outcomes: readonly Outcome[], t: { diagnostic: (s: string) => void }): void {
  const problems: string[] = [];
  let compared = 0;
  let refusedByApiServer = 0;
  for (const o of outcomes) {
    const label = `${o.row.name} (API server ${o.status})`;
    if (o.row.hostile) {
      if (o.kubegate !== 'KG_REQUEST_BODY_UNSUPPORTED')
        problems.push(`${label}: kubegate read it as ${JSON.stringify(o.kubegate)}`);
      continue;
    }
    if (typeof o.kubegate === 'string') {
      problems.push(`${label}: kubegate refused an ordinary body (${o.kubegate})`);
      continue;
    }
    if (o.apiServer === null) {
      // The API server refused it (a bool or number where a string belongs: 400 for a create, 500
      // "failed to create typed patch object" for an apply): nothing was acted on.
      assert.ok(o.status >= 400, `${label}: unexpected status`);
      refusedByApiServer++;
      continue;
    }
    compared++;
    try {
      assert.deepEqual(o.kubegate, o.apiServer);
    } catch {
      problems.push(
        `${label}: kubegate ${JSON.stringify(o.kubegate)} ≠ API server ${JSON.stringify(o.apiServer)}`,
      );
    }
  }
  t.diagnostic(
    `${compared} bodies read alike, ${refusedByApiServer} refused by the API server, ${outcomes.filter((o) => o.row.hostile).length} hostile`,
  );
  assert.deepEqual(problems, []);
  assert.ok(compared >= 20, `only ${compared} bodies were accepted by both`);
}

// ---------------------------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------------------------

const NAME_MESSAGE = 'ConfigMaps named prod-* are managed by the platform team.';
const LABEL_MESSAGE = 'ConfigMaps labelled env=prod are managed by the platform team.';
const DELETE_MESSAGE = 'Only dry-run deletes of ConfigMaps are allowed here.';

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'no-prod-configmaps',
      match: { verbs: ['create', 'update', 'patch'], resources: ['configmaps'], names: ['prod-*'] },
      action: 'deny',
      message: NAME_MESSAGE,
    },
    {
      name: 'no-env-prod-configmaps',
      match: {
        verbs: ['create', 'update', 'patch'],
        resources: ['configmaps'],
        objectSelector: { matchLabels: { env: 'prod' } },
      },
      action: 'deny',
      message: LABEL_MESSAGE,
    },
    {
      name: 'deletes-are-dry-runs',
      match: { verbs: ['delete'], resources: ['configmaps'], query: { dryRun: { present: false } } },
      action: 'deny',
      message: DELETE_MESSAGE,
    },
  ],
};

const admin = (args: string[]) => kubectl(args, { kubeconfig: tb.adminKubeconfig });

async function configMapExists(name: string): Promise<boolean> {
  const res = await asAdmin('GET', `${CM}/${name}`, '', null);
  if (res.status === 200) return true;
  assert.equal(res.status, 404, res.body.toString());
  return false;
}

async function createVictim(name: string): Promise<void> {
  const r = await admin(['create', 'configmap', name, '-n', ns, '--from-literal=k=v']);
  assert.equal(r.code, 0, r.stderr);
}

before(async () => {
  tb = await useTestbed();
  dir = await mkdtemp(join(tmpdir(), 'kubegate-yaml-e2e-'));
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, stringify(policy));
  gw = await startGateway(tb, { config: { policy: { file: policyFile } } });
  let r = await admin(['create', 'namespace', ns]);
  assert.equal(r.code, 0, r.stderr);
  r = await admin(['create', 'rolebinding', 'edit', '-n', ns, '--clusterrole=edit', `--group=${group}`]);
  assert.equal(r.code, 0, r.stderr);
  userToken = await gw.tokenFor(`yaml-user-${suffix}`, [group]);
});

after(async () => {
  await gw?.stop();
  if (tb) await admin(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// 1. The differential run
// ---------------------------------------------------------------------------------------------

test('application/yaml creates: kubegate reads every body it accepts as the API server does, and refuses every hostile one', async (t) => {
  checkDifferential(await runCreates(), t);
});

test('application/apply-patch+yaml (server-side apply): kubegate reads every body it accepts as the API server does', async (t) => {
  checkDifferential(await runApplies(), t);
});

test('the hostile forms are read differently by the API server than by npm yaml', async () => {
  const outcomes = await runCreates();
  for (const o of outcomes) {
    const reads = o.row.apiServerReads;
    if (reads === undefined) continue;
    assert.ok(o.apiServer !== null, `${o.row.name}: the API server refused it (${o.status})`);
    const got: Partial<Fields> = Object.fromEntries(
      Object.keys(reads).map((k) => [k, o.apiServer?.[k as keyof Fields]]),
    );
    assert.deepEqual(got, reads, o.row.name);
    // npm yaml (YAML 1.1, merge keys on: what kubegate used before) reads something else.
    let npm: Partial<Fields> | string;
    try {
      const all = fieldsOf(parseNpmYaml(bytes(o.row.body).toString('utf8'), { version: '1.1' }));
      npm = Object.fromEntries(Object.keys(reads).map((k) => [k, all[k as keyof Fields]]));
    } catch (err) {
      npm = `unparseable: ${String(err)}`;
    }
    assert.notDeepEqual(npm, reads, `${o.row.name}: npm yaml reads it the same`);
  }
});

// ---------------------------------------------------------------------------------------------
// 2. Through kubegate: the rules are not bypassed
// ---------------------------------------------------------------------------------------------

function assertRefusedAsYaml(res: RawResponse, what: string): void {
  assert.equal(res.status, 400, `${what}: ${res.body.toString()}`);
  const status = json(res);
  assert.equal(status.kind, 'Status');
  assert.equal(status.reason, 'BadRequest');
  assert.match(String(status.message), /kubegate refused the YAML request body: .*Send the body as JSON/);
}

async function assertRefusedInAudit(path: string): Promise<void> {
  const records = await gw.waitForAudit(
    (r) =>
      r.kind === 'refused' &&
      r.errorCode === 'KG_REQUEST_BODY_UNSUPPORTED' &&
      (r.request?.target ?? '').startsWith(path),
  );
  assert.ok(records.length > 0, `no refusal of ${path} in kubegate's audit trail`);
  const forwarded = (await gw.auditRecords()).filter(
    (r) => r.kind === 'forwarded' && r.requestId === records[0]!.requestId,
  );
  assert.deepEqual(forwarded, []);
}

test('a create named with !!binary: the API server creates prod-db; kubegate refuses it and forwards nothing', async () => {
  const body = Buffer.from(
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: !!binary cHJvZC1kYg==\ndata: {k: v}\n`,
  );
  const direct = await asAdmin('POST', `${CM}?dryRun=All`, 'application/yaml', body);
  assert.equal(direct.status, 201, direct.body.toString());
  assert.equal(fieldsOf(json(direct)).name, 'prod-db');

  const res = await asUser('POST', `${CM}`, 'application/yaml', body);
  assertRefusedAsYaml(res, '!!binary name');
  await assertRefusedInAudit(CM);
  assert.equal(await configMapExists('prod-db'), false);
});

test('a create whose merge key after the name renames it prod-db is refused', async () => {
  const body = Buffer.from(
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: safe-x\n  <<: {name: prod-db}\n`,
  );
  const direct = await asAdmin('POST', `${CM}?dryRun=All`, 'application/yaml', body);
  assert.equal(direct.status, 201, direct.body.toString());
  assert.equal(fieldsOf(json(direct)).name, 'prod-db');

  const res = await asUser('POST', `${CM}`, 'application/yaml', body);
  assertRefusedAsYaml(res, 'merge key');
  assert.equal(await configMapExists('prod-db'), false);
  assert.equal(await configMapExists('safe-x'), false);
});

test('a server-side apply labelling env=prod with !!binary is refused', async () => {
  const body = Buffer.from(
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied-x\n  labels:\n    env: !!binary cHJvZA==\n`,
  );
  const target = `${CM}/applied-x?fieldManager=yaml-e2e`;
  const direct = await asAdmin('PATCH', `${target}&dryRun=All`, 'application/apply-patch+yaml', body);
  assert.equal(direct.status, 201, direct.body.toString());
  assert.deepEqual(fieldsOf(json(direct)).labels, { env: 'prod' });

  const res = await asUser('PATCH', target, 'application/apply-patch+yaml', body);
  assertRefusedAsYaml(res, '!!binary label');
  assert.equal(await configMapExists('applied-x'), false);
});

test('a DELETE body whose merge key turns dryRun: [All] into a real delete is refused', async () => {
  const body = Buffer.from('dryRun: [All]\n<<: {dryRun: []}\n');
  // The API server's half: the merge key wins, and the object is really deleted.
  await createVictim('victim-direct');
  const direct = await asAdmin('DELETE', `${CM}/victim-direct`, 'application/yaml', body);
  assert.equal(direct.status, 200, direct.body.toString());
  assert.equal(await configMapExists('victim-direct'), false);

  await createVictim('victim-gated');
  const res = await asUser('DELETE', `${CM}/victim-gated`, 'application/yaml', body);
  assertRefusedAsYaml(res, 'DELETE merge key');
  assert.equal(await configMapExists('victim-gated'), true);
});

test('plain YAML still goes through kubegate, and the rules still read it', async () => {
  const ok = await asUser(
    'POST',
    CM,
    'application/yaml',
    Buffer.from(`${head('fine-x')}data:\n  k: "yes"\n`),
  );
  assert.equal(ok.status, 201, ok.body.toString());
  assert.equal(await configMapExists('fine-x'), true);

  const named = await asUser('POST', CM, 'application/yaml', Buffer.from(`${head('prod-db')}data: {}\n`));
  assert.equal(named.status, 403, named.body.toString());
  assert.equal(json(named).message, NAME_MESSAGE);

  const labelled = await asUser(
    'PATCH',
    `${CM}/applied-y?fieldManager=yaml-e2e`,
    'application/apply-patch+yaml',
    Buffer.from(`${head('applied-y')}  labels: {env: prod}\n`),
  );
  assert.equal(labelled.status, 403, labelled.body.toString());
  assert.equal(json(labelled).message, LABEL_MESSAGE);

  await createVictim('victim-dry');
  const dry = await asUser('DELETE', `${CM}/victim-dry`, 'application/yaml', Buffer.from('dryRun: [All]\n'));
  assert.equal(dry.status, 200, dry.body.toString());
  assert.equal(await configMapExists('victim-dry'), true);
  const real = await asUser(
    'DELETE',
    `${CM}/victim-dry`,
    'application/yaml',
    Buffer.from('gracePeriodSeconds: 0\n'),
  );
  assert.equal(real.status, 403, real.body.toString());
  assert.equal(json(real).message, DELETE_MESSAGE);
});
