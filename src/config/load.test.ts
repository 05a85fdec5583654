// The config loader. Its error messages are the product (an operator reads them to fix the
// file), so the invalid rows assert the exact text, position and path of every issue.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubegateError } from '../errors.js';
import { loadConfig } from './load.js';
import type { ConfigOverrides } from './load.js';
import type { Config } from './schema.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-config-'));
  await mkdir(join(dir, 'etc'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `text` as etc/kubegate.yaml and loads it with the working directory at `dir`. */
async function load(text: string | null, overrides?: ConfigOverrides): Promise<Config> {
  if (text === null) return loadConfig({ cwd: dir, ...(overrides ? { overrides } : {}) });
  await writeFile(join(dir, 'etc', 'kubegate.yaml'), text);
  return loadConfig({ file: 'etc/kubegate.yaml', cwd: dir, ...(overrides ? { overrides } : {}) });
}

async function issuesOf(text: string | null, overrides?: ConfigOverrides): Promise<string[]> {
  try {
    await load(text, overrides);
  } catch (err) {
    assert.ok(err instanceof KubegateError);
    assert.equal(err.code, 'KG_CONFIG_INVALID');
    const [first, ...rest] = err.message.split('\n');
    assert.equal(first, 'invalid kubegate configuration:');
    return rest.map((line) => line.trim());
  }
  assert.fail('the config loaded');
}

const UPSTREAM = 'upstream:\n  kubeconfig: upstream.kubeconfig\n';
const F = 'etc/kubegate.yaml';

interface InvalidRow {
  readonly name: string;
  readonly input: { readonly text: string | null; readonly overrides?: ConfigOverrides };
  readonly want: readonly string[];
}

const invalid: readonly InvalidRow[] = [
  {
    name: 'a port out of range is reported at its value',
    input: { text: `${UPSTREAM}listen:\n  host: 0.0.0.0\n  port: 99999\n` },
    want: [`${F}:5:9: listen.port: expected a number from 1 to 65535`],
  },
  {
    name: 'a port given as a string is refused',
    input: { text: `${UPSTREAM}listen: {port: "8443"}\n` },
    want: [`${F}:3:16: listen.port: expected a number from 1 to 65535`],
  },
  {
    name: 'an unknown field is reported at its key with the known fields',
    input: { text: `${UPSTREAM}listen:\n  prot: 8443\n` },
    want: [`${F}:4:3: listen.prot: unknown field (known: host, port)`],
  },
  {
    name: 'a Slack user entry needs exactly one of a Slack user id and an email, and the id must look like one',
    input: {
      text: `${UPSTREAM}slack:\n  signingSecretFile: slack.secret\n  users:\n    - { user: bob }\n    - { slackUserId: bob, user: x }\n`,
    },
    want: [
      `${F}:6:7: slack.users[0]: give exactly one of slackUserId and email`,
      `${F}:7:22: slack.users[1].slackUserId: expected a Slack user id (U…)`,
    ],
  },
  {
    name: 'an unknown top-level section is refused',
    input: { text: `${UPSTREAM}loging: {level: debug}\n` },
    want: [
      `${F}:3:1: loging: unknown field (known: dataDir, listen, tls, identity, upstream, limits, timeouts, store, audit, policy, approvals, web, notifications, slack, publicUrl, health, metrics, log)`,
    ],
  },
  {
    name: 'every issue in the file is reported, in file order',
    input: {
      text: `${UPSTREAM}log:\n  level: loud\nlimits: 5\ntimeouts:\n  upstreamConnectMs: 0\n  upstreamHeadersMs: 1.5\n`,
    },
    want: [
      `${F}:4:10: log.level: expected one of fatal, error, warn, info, debug, trace, silent`,
      `${F}:5:9: limits: expected a mapping of settings, not 5`,
      `${F}:7:22: timeouts.upstreamConnectMs: expected a number of milliseconds, 1 or more`,
      `${F}:8:22: timeouts.upstreamHeadersMs: expected a number of milliseconds, 1 or more`,
    ],
  },
  {
    name: 'a config without an upstream says how to name one',
    input: { text: 'listen: {port: 9443}\n' },
    want: [
      `${F}:1:1: upstream: kubegate needs an API server: set upstream.kubeconfig (a kubeconfig for kubegate's own identity) or upstream.inCluster: true`,
    ],
  },
  {
    name: 'a kubeconfig and in-cluster together are refused',
    input: { text: 'upstream:\n  kubeconfig: k\n  inCluster: true\n' },
    want: [
      `${F}:3:14: upstream.inCluster: set either upstream.kubeconfig or upstream.inCluster: true, not both`,
    ],
  },
  {
    name: 'a context without a kubeconfig is refused',
    input: { text: 'upstream:\n  inCluster: true\n  context: prod\n' },
    want: [
      `${F}:3:12: upstream.context: upstream.context names a context in upstream.kubeconfig, which is not set`,
    ],
  },
  {
    name: 'inCluster must be a boolean, not a YAML 1.1 yes',
    input: { text: 'upstream:\n  inCluster: yes\n' },
    want: [`${F}:2:14: upstream.inCluster: expected true or false`],
  },
  {
    name: 'a serving certificate without its key is refused',
    input: { text: `${UPSTREAM}tls:\n  certFile: gw.crt\n` },
    want: [
      `${F}:4:3: tls.keyFile: set both tls.certFile and tls.keyFile, or neither (kubegate then generates its own)`,
    ],
  },
  {
    name: 'tls.hosts beside an own certificate is refused: that certificate names the hosts',
    input: {
      text: `${UPSTREAM}tls:\n  certFile: gw.crt\n  keyFile: gw.key\n  hosts: [kubegate.example.com]\n`,
    },
    want: [
      `${F}:6:10: tls.hosts: tls.hosts names the generated certificate; with tls.certFile your certificate names the hosts`,
    ],
  },
  {
    name: 'an empty path is refused',
    input: { text: `${UPSTREAM}audit:\n  file: ""\n` },
    want: [`${F}:4:9: audit.file: must not be empty`],
  },
  {
    name: 'a JSON-lines audit sink with an empty path is refused',
    input: { text: `${UPSTREAM}audit:\n  sinks:\n    - {type: jsonl, path: ''}\n` },
    want: [`${F}:5:27: audit.sinks[0].path: expected '-' (stdout) or a file path`],
  },
  {
    name: 'an audit sink kubegate does not have is refused',
    input: { text: `${UPSTREAM}audit:\n  sinks:\n    - {type: kafka}\n` },
    want: [`${F}:5:14: audit.sinks[0].type: expected type jsonl or webhook`],
  },
  {
    name: 'a store kubegate does not have is refused',
    input: { text: `${UPSTREAM}store:\n  type: mysql\n` },
    want: [`${F}:4:9: store.type: expected type sqlite or postgres`],
  },
  {
    name: 'a postgres store without a URL is refused',
    input: { text: `${UPSTREAM}store:\n  type: postgres\n` },
    want: [`${F}:4:3: store: a postgres store needs exactly one of url and urlFile`],
  },
  {
    name: 'a postgres store with both url and urlFile is refused',
    input: { text: `${UPSTREAM}store:\n  type: postgres\n  url: postgres://db/kg\n  urlFile: /run/url\n` },
    want: [`${F}:4:3: store: a postgres store needs exactly one of url and urlFile`],
  },
  {
    name: 'a postgres URL of another scheme is refused',
    input: { text: `${UPSTREAM}store:\n  type: postgres\n  url: mysql://db/kg\n` },
    want: [`${F}:5:8: store.url: expected a postgres:// or postgresql:// URL`],
  },
  {
    name: 'a postgres pool of no connections is refused',
    input: { text: `${UPSTREAM}store:\n  type: postgres\n  url: postgres://db/kg\n  pool: { max: 0 }\n` },
    want: [`${F}:6:16: store.pool.max: expected a number of connections from 1 to 1000`],
  },
  {
    name: 'the store’s locations are not set in the store section: dataDir and audit.file say them',
    input: { text: `${UPSTREAM}store:\n  dir: /elsewhere\n` },
    want: [`${F}:4:3: store.dir: unknown field`],
  },
  {
    name: 'a YAML syntax error is located',
    input: { text: `${UPSTREAM}listen: {port: 1\n` },
    want: [`${F}:4:1: Flow map in block collection must be sufficiently indented and end with a }`],
  },
  {
    name: 'a duplicated key is refused',
    input: { text: `${UPSTREAM}log: {level: info}\nlog: {level: debug}\n` },
    want: [`${F}:4:1: Map keys must be unique`],
  },
  {
    name: 'a file that is a list, not a mapping, is refused',
    input: { text: '- listen\n' },
    want: [`${F}:1:1: the config file must be a mapping of settings (\`key: value\` lines)`],
  },
  {
    name: 'an invalid override is attributed to the overrides',
    input: { text: UPSTREAM, overrides: { listen: { port: 0 } } },
    want: ['overrides: listen.port: expected a number from 1 to 65535'],
  },
  {
    name: 'an override replacing a valid file value is blamed, not the file',
    input: { text: `${UPSTREAM}log: {level: info}\n`, overrides: { log: { level: 'verbose' as 'info' } } },
    want: ['overrides: log.level: expected one of fatal, error, warn, info, debug, trace, silent'],
  },
  {
    name: 'without a file, a missing upstream has no location',
    input: { text: null },
    want: [
      "upstream: kubegate needs an API server: set upstream.kubeconfig (a kubeconfig for kubegate's own identity) or upstream.inCluster: true",
    ],
  },
  {
    name: 'an OIDC issuer over plain http is refused unless it is on the machine itself',
    input: {
      text: `${UPSTREAM}identity:\n  oidc:\n    - {issuerUrl: "http://idp.example.com", clientId: kubegate}\n`,
    },
    want: [
      `${F}:5:19: identity.oidc[0].issuerUrl: the issuer must be an https URL (http only for localhost, 127.0.0.1 or [::1])`,
    ],
  },
  {
    name: 'an OIDC issuer URL with a query or fragment is refused',
    input: {
      text: `${UPSTREAM}identity:\n  oidc:\n    - {issuerUrl: "https://idp.example.com/?tenant=a", clientId: kubegate}\n`,
    },
    want: [`${F}:5:19: identity.oidc[0].issuerUrl: the issuer URL must have no query or fragment`],
  },
  {
    name: 'an OIDC issuer listed twice is refused at the second',
    input: {
      text: `${UPSTREAM}identity:\n  oidc:\n    - {issuerUrl: "https://idp.example.com", clientId: a}\n    - {issuerUrl: "https://idp.example.com", clientId: b}\n`,
    },
    want: [`${F}:6:19: identity.oidc[1].issuerUrl: this issuer is listed twice; list each issuerUrl once`],
  },
  {
    name: 'an OIDC issuer without a client id, with an empty prefix and a misspelt field: every issue, the known fields listed',
    input: {
      text: `${UPSTREAM}identity:\n  oidc:\n    - issuerUrl: https://idp.example.com\n      usernamePrefix: ""\n      groupClaim: groups\n      requiredClaims: {hd: 1}\n`,
    },
    want: [
      `${F}:5:7: identity.oidc[0].clientId: expected the client id`,
      `${F}:6:23: identity.oidc[0].usernamePrefix: write "-" for no prefix (an empty value is ambiguous)`,
      `${F}:7:7: identity.oidc[0].groupClaim: unknown field (known: issuerUrl, clientId, audiences, usernameClaim, usernamePrefix, groupsClaim, groupsPrefix, requiredClaims, caFile, clientSecretFile)`,
      `${F}:8:28: identity.oidc[0].requiredClaims.hd: expected the value the claim must have`,
    ],
  },
  {
    name: 'an empty OIDC audience list is refused (it would accept no token)',
    input: {
      text: `${UPSTREAM}identity:\n  oidc:\n    - {issuerUrl: "https://idp.example.com", clientId: kubegate, audiences: []}\n`,
    },
    want: [
      `${F}:5:77: identity.oidc[0].audiences: list at least one audience, or leave audiences out for [clientId]`,
    ],
  },
];

for (const row of invalid) {
  test(row.name, async () => {
    assert.deepEqual(await issuesOf(row.input.text, row.input.overrides), row.want);
  });
}

interface ValidRow {
  readonly name: string;
  readonly input: { readonly text: string | null; readonly overrides?: ConfigOverrides };
  /** Without the store's locations (withStoreLocations adds them). */
  readonly want: (d: string) => Omit<Config, 'store'> & { readonly store: { readonly type: 'sqlite' } };
}

const NO_READERS = { users: [], groups: [] };

const defaults = (d: string) => ({
  dataDir: join(d, 'etc', '.kubegate'),
  listen: { host: '127.0.0.1', port: 8443 },
  tls: { hosts: [] },
  identity: { agents: { users: [], groups: [] }, oidc: [] },
  upstream: { kubeconfig: join(d, 'etc', 'upstream.kubeconfig'), inCluster: false },
  limits: { maxBodyBytes: 3145728 },
  timeouts: { upstreamConnectMs: 5000, upstreamHeadersMs: 60000, clientIdleMs: 90000 },
  store: { type: 'sqlite' as const },
  audit: {
    file: join(d, 'etc', '.kubegate', 'audit.db'),
    readers: NO_READERS,
    headIntervalMs: 60_000,
    sinks: [],
  },
  policy: {},
  approvals: { holdTimeoutMs: 300000, contextTimeoutMs: 10000, pendingExpiryMs: 86400000 },
  web: { sessionTtlMs: 28_800_000 },
  notifications: { webhooks: [] },
  health: { intervalMs: 5_000, upstreamGraceMs: 15_000 },
  metrics: {},
  log: { level: 'info' as const },
});

/**
 * The store section as the schema completes it: the store's kind as written, where its files
 * go (dataDir) and the trail's file (audit.file), so that openStore(config.store) needs no more.
 */
function withStoreLocations(want: Config): Config {
  return { ...want, store: { ...want.store, dir: want.dataDir, auditFile: want.audit.file } };
}

const valid: readonly ValidRow[] = [
  {
    name: 'a file naming only the upstream gets every default, paths beside the file',
    input: { text: UPSTREAM },
    want: defaults,
  },
  {
    name: 'relative paths in the file resolve against its folder, absolute ones stay',
    input: {
      text: `dataDir: /var/lib/kubegate\n${UPSTREAM}tls: {certFile: pki/gw.crt, keyFile: pki/gw.key, clientCAFile: /etc/ca.crt}\npolicy: {file: policy.yaml}\n`,
    },
    want: (d) => ({
      ...defaults(d),
      dataDir: '/var/lib/kubegate',
      tls: {
        certFile: join(d, 'etc', 'pki', 'gw.crt'),
        keyFile: join(d, 'etc', 'pki', 'gw.key'),
        clientCAFile: '/etc/ca.crt',
        hosts: [],
      },
      audit: { file: '/var/lib/kubegate/audit.db', readers: NO_READERS, headIntervalMs: 60_000, sinks: [] },
      policy: { file: join(d, 'etc', 'policy.yaml') },
    }),
  },
  {
    name: 'overrides win, and their relative paths resolve against the working directory',
    input: {
      text: `${UPSTREAM}listen: {host: 0.0.0.0, port: 9443}\n`,
      overrides: { listen: { port: 10443 }, dataDir: 'state', log: { level: 'debug' } },
    },
    want: (d) => ({
      ...defaults(d),
      dataDir: join(d, 'state'),
      listen: { host: '0.0.0.0', port: 10443 },
      audit: { file: join(d, 'state', 'audit.db'), readers: NO_READERS, headIntervalMs: 60_000, sinks: [] },
      log: { level: 'debug' },
    }),
  },
  {
    name: 'an override left undefined (an unset flag) keeps the file value',
    input: { text: `${UPSTREAM}listen: {port: 9443}\n`, overrides: { listen: { port: undefined } } },
    want: (d) => ({ ...defaults(d), listen: { host: '127.0.0.1', port: 9443 } }),
  },
  {
    name: 'in-cluster mode needs no kubeconfig, and an explicit audit file is kept',
    input: { text: 'upstream: {inCluster: true}\naudit: {file: logs/audit.db}\n' },
    want: (d) => ({
      ...defaults(d),
      upstream: { inCluster: true },
      audit: {
        file: join(d, 'etc', 'logs', 'audit.db'),
        readers: NO_READERS,
        headIntervalMs: 60_000,
        sinks: [],
      },
    }),
  },
  {
    name: 'without a file, overrides alone make a config, paths against the working directory',
    input: { text: null, overrides: { upstream: { inCluster: true } } },
    want: (d) => ({
      ...defaults(d),
      dataDir: join(d, '.kubegate'),
      upstream: { inCluster: true },
      audit: {
        file: join(d, '.kubegate', 'audit.db'),
        readers: NO_READERS,
        headIntervalMs: 60_000,
        sinks: [],
      },
    }),
  },
  {
    name: 'identity.agents names the AI agents by group or user, and the claim naming who they act for',
    input: {
      text: `${UPSTREAM}identity:\n  agents: {groups: [agents], users: [ci-bot], onBehalfOfClaim: act_for}\n`,
    },
    want: (d) => ({
      ...defaults(d),
      identity: { agents: { users: ['ci-bot'], groups: ['agents'], onBehalfOfClaim: 'act_for' }, oidc: [] },
    }),
  },
  {
    name: "an OIDC issuer gets the API server flags' defaults, its files resolve beside the config",
    input: {
      text: `${UPSTREAM}identity:\n  oidc:\n    - {issuerUrl: "https://idp.example.com", clientId: kubegate, caFile: idp-ca.pem, clientSecretFile: /etc/kubegate/secret}\n    - {issuerUrl: "http://127.0.0.1:4444/", clientId: ui, audiences: [a, b], usernameClaim: email, groupsClaim: groups, groupsPrefix: "oidc:", requiredClaims: {hd: example.com}}\n    - {issuerUrl: "https://other.example.com", clientId: k, usernameClaim: email, usernamePrefix: "corp:"}\n    - {issuerUrl: "https://[::1]/a", clientId: k, usernamePrefix: "-"}\n`,
    },
    want: (d) => ({
      ...defaults(d),
      identity: {
        agents: { users: [], groups: [] },
        oidc: [
          {
            issuerUrl: 'https://idp.example.com',
            clientId: 'kubegate',
            audiences: ['kubegate'],
            usernameClaim: 'sub',
            usernamePrefix: 'https://idp.example.com#',
            groupsPrefix: '',
            requiredClaims: {},
            caFile: join(d, 'etc', 'idp-ca.pem'),
            clientSecretFile: '/etc/kubegate/secret',
          },
          {
            issuerUrl: 'http://127.0.0.1:4444/',
            clientId: 'ui',
            audiences: ['a', 'b'],
            usernameClaim: 'email',
            usernamePrefix: '',
            groupsClaim: 'groups',
            groupsPrefix: 'oidc:',
            requiredClaims: { hd: 'example.com' },
          },
          {
            issuerUrl: 'https://other.example.com',
            clientId: 'k',
            audiences: ['k'],
            usernameClaim: 'email',
            usernamePrefix: 'corp:',
            groupsPrefix: '',
            requiredClaims: {},
          },
          {
            issuerUrl: 'https://[::1]/a',
            clientId: 'k',
            audiences: ['k'],
            usernameClaim: 'sub',
            usernamePrefix: '',
            groupsPrefix: '',
            requiredClaims: {},
          },
        ] as Config['identity']['oidc'],
      },
    }),
  },
];

test('audit sinks: stdout, a file, and a webhook with its defaults', async () => {
  const config = await load(
    `${UPSTREAM}audit:\n  sinks:\n    - {type: jsonl, path: '-'}\n    - {type: jsonl, path: /var/log/kubegate/audit.jsonl}\n    - {type: webhook, url: 'https://siem.example/in', headers: {authorization: Bearer x}}\n`,
  );
  assert.deepEqual(config.audit.sinks, [
    { type: 'jsonl', path: '-' },
    { type: 'jsonl', path: '/var/log/kubegate/audit.jsonl' },
    {
      type: 'webhook',
      url: 'https://siem.example/in',
      headers: { authorization: 'Bearer x' },
      batchMaxRecords: 500,
      batchMaxMs: 1000,
      maxQueueRecords: 100_000,
      timeoutMs: 10_000,
      retry: { maxAttempts: 8, initialDelayMs: 1000, maxDelayMs: 30_000 },
    },
  ]);
});

test("audit sinks: a relative jsonl path is kept for dataDir; a webhook's headersFile is relative to the config file", async () => {
  const config = await load(
    `${UPSTREAM}audit:\n  sinks:\n    - {type: jsonl, path: audit.jsonl}\n    - {type: webhook, url: 'https://siem.example/in', headersFile: secret/headers}\n`,
  );
  assert.equal(config.audit.sinks[0]?.type === 'jsonl' && config.audit.sinks[0].path, 'audit.jsonl');
  assert.equal(
    config.audit.sinks[1]?.type === 'webhook' && config.audit.sinks[1].headersFile,
    join(dir, 'etc', 'secret', 'headers'),
  );
});

for (const row of valid) {
  test(row.name, async () => {
    assert.deepEqual(
      await load(row.input.text, row.input.overrides),
      withStoreLocations(row.want(dir) as Config),
    );
  });
}

test('the store is SQLite in dataDir, with the audit trail at audit.file when it is set', async () => {
  const config = await load(`dataDir: state\n${UPSTREAM}audit: {file: /var/log/kubegate/audit.db}\n`);
  assert.deepEqual(config.store, {
    type: 'sqlite',
    dir: join(dir, 'etc', 'state'),
    auditFile: '/var/log/kubegate/audit.db',
  });
  assert.deepEqual((await load(`dataDir: state\n${UPSTREAM}`)).store, {
    type: 'sqlite',
    dir: join(dir, 'etc', 'state'),
    auditFile: join(dir, 'etc', 'state', 'audit.db'),
  });
});

test('a postgres store takes its URL or a file holding it (relative to the config file), and a pool size', async () => {
  assert.deepEqual(
    (await load(`${UPSTREAM}store: {type: postgres, url: 'postgres://kg@db:5432/kubegate'}\n`)).store,
    {
      type: 'postgres',
      url: 'postgres://kg@db:5432/kubegate',
      pool: { max: 10 },
      dir: join(dir, 'etc', '.kubegate'),
      auditFile: join(dir, 'etc', '.kubegate', 'audit.db'),
    },
  );
  const fromFile = (await load(`${UPSTREAM}store: {type: postgres, urlFile: secret/url, pool: {max: 3}}\n`))
    .store;
  assert.equal(fromFile.type, 'postgres');
  assert.equal(fromFile.type === 'postgres' && fromFile.urlFile, join(dir, 'etc', 'secret', 'url'));
  assert.equal(fromFile.type === 'postgres' && fromFile.pool.max, 3);
});

test('the loaded config is deep-frozen', async () => {
  const config = await load(UPSTREAM);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.listen));
  assert.ok(Object.isFrozen(config.upstream));
});

test('an empty file is an empty mapping: only the upstream is missing', async () => {
  assert.deepEqual(await issuesOf('# nothing yet\n'), [
    `${F}:1:1: upstream: kubegate needs an API server: set upstream.kubeconfig (a kubeconfig for kubegate's own identity) or upstream.inCluster: true`,
  ]);
});

test('a missing config file is refused with its path', async () => {
  await assert.rejects(loadConfig({ file: 'missing.yaml', cwd: dir }), (err: unknown) => {
    assert.ok(err instanceof KubegateError);
    assert.equal(err.code, 'KG_CONFIG_INVALID');
    assert.equal(
      err.message,
      `kubegate's config file missing.yaml (${join(dir, 'missing.yaml')}) does not exist`,
    );
    return true;
  });
});

test('every issue is also listed in the error details', async () => {
  await writeFile(join(dir, 'etc', 'kubegate.yaml'), 'listen: {port: 0}\n');
  await assert.rejects(loadConfig({ file: 'etc/kubegate.yaml', cwd: dir }), (err: unknown) => {
    assert.ok(err instanceof KubegateError);
    assert.deepEqual(
      err.details?.causes?.map((c) => c.field),
      ['upstream', 'listen.port'],
    );
    return true;
  });
});
