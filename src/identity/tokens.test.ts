// The token store: hashes only, atomic 0600 writes, no lost entries between writers, and
// changes by another process seen within the re-check interval (a fake clock, no sleeps).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubegateError } from '../errors.js';
import { TOKEN_FILE_RECHECK_MS, TokenStore } from './tokens.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-tokens-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
const fresh = (): Promise<string> => mkdtemp(join(root, 'data-'));

test('an issued token is kg_ plus 32 random bytes and identifies its user', async () => {
  const store = await TokenStore.open(await fresh());
  const token = await store.issue('alice', ['dev', 'sre']);
  assert.match(token, /^kg_[A-Za-z0-9_-]{43}$/u);
  assert.deepEqual(store.lookup(token), { user: 'alice', groups: ['dev', 'sre'], method: 'token' });
  assert.notEqual(await store.issue('alice', []), token);
});

test('unknown, altered and empty tokens identify no one', async () => {
  const store = await TokenStore.open(await fresh());
  const token = await store.issue('alice', []);
  for (const other of ['', 'kg_', `${token}x`, token.slice(0, -1), token.toUpperCase()]) {
    assert.equal(store.lookup(other), null, JSON.stringify(other));
  }
});

test('the file holds only hashes, with mode 0600', async () => {
  const dataDir = await fresh();
  const store = await TokenStore.open(dataDir);
  const token = await store.issue('alice', ['dev']);
  const text = await readFile(join(dataDir, 'tokens.json'), 'utf8');
  assert.equal(text.includes(token), false);
  assert.equal(text.includes(token.slice(3)), false);
  const doc = JSON.parse(text) as { version: number; tokens: { sha256: string; user: string }[] };
  assert.equal(doc.version, 1);
  assert.match(doc.tokens[0]?.sha256 ?? '', /^[0-9a-f]{64}$/u);
  assert.equal((await stat(join(dataDir, 'tokens.json'))).mode & 0o777, 0o600);
});

test('revoke removes every token of that user and no one else', async () => {
  const store = await TokenStore.open(await fresh());
  const a1 = await store.issue('alice', []);
  const a2 = await store.issue('alice', ['dev']);
  const b = await store.issue('bob', []);
  assert.equal(await store.revoke('alice'), 2);
  assert.equal(store.lookup(a1), null);
  assert.equal(store.lookup(a2), null);
  assert.equal(store.lookup(b)?.user, 'bob');
  assert.equal(await store.revoke('alice'), 0);
});

test('tokens survive a restart', async () => {
  const dataDir = await fresh();
  const token = await (await TokenStore.open(dataDir)).issue('alice', ['dev']);
  assert.deepEqual((await TokenStore.open(dataDir)).lookup(token), {
    user: 'alice',
    groups: ['dev'],
    method: 'token',
  });
});

test('concurrent issues in one process are all kept', async () => {
  const dataDir = await fresh();
  const store = await TokenStore.open(dataDir);
  const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => store.issue(`user${i}`, [])));
  const reopened = await TokenStore.open(dataDir);
  assert.deepEqual(
    tokens.map((t) => reopened.lookup(t)?.user),
    tokens.map((_, i) => `user${i}`),
  );
});

test("two writers never drop each other's tokens", async () => {
  const dataDir = await fresh();
  const gateway = await TokenStore.open(dataDir);
  const cli = await TokenStore.open(dataDir);
  const t1 = await gateway.issue('alice', []);
  const t2 = await cli.issue('bob', []);
  const t3 = await gateway.issue('carol', []);
  const reopened = await TokenStore.open(dataDir);
  assert.deepEqual(
    [t1, t2, t3].map((t) => reopened.lookup(t)?.user),
    ['alice', 'bob', 'carol'],
  );
});

test("another process's new token and revocation take effect after the re-check interval", async () => {
  const dataDir = await fresh();
  let now = 0;
  const gateway = await TokenStore.open(dataDir, { now: () => now });
  const cli = await TokenStore.open(dataDir);
  const token = await cli.issue('alice', ['dev']);
  assert.equal(gateway.lookup(token), null, 'not before the interval');
  now += TOKEN_FILE_RECHECK_MS;
  assert.equal(gateway.lookup(token)?.user, 'alice');
  await cli.revoke('alice');
  assert.equal(gateway.lookup(token)?.user, 'alice', 'not before the interval');
  now += TOKEN_FILE_RECHECK_MS;
  assert.equal(gateway.lookup(token), null);
});

test('a token file deleted or damaged while running fails closed', async () => {
  const dataDir = await fresh();
  let now = 0;
  const store = await TokenStore.open(dataDir, { now: () => now });
  const token = await store.issue('alice', []);
  await writeFile(join(dataDir, 'tokens.json'), '{"version": 1, "tokens": [');
  now += TOKEN_FILE_RECHECK_MS;
  assert.equal(store.lookup(token), null);
  await rm(join(dataDir, 'tokens.json'));
  now += TOKEN_FILE_RECHECK_MS;
  assert.equal(store.lookup(token), null);
});

test('reload() picks up a change at once', async () => {
  const dataDir = await fresh();
  const gateway = await TokenStore.open(dataDir, { now: () => 0 });
  const token = await (await TokenStore.open(dataDir)).issue('alice', []);
  assert.equal(gateway.lookup(token), null);
  await gateway.reload();
  assert.equal(gateway.lookup(token)?.user, 'alice');
});

interface RefusalRow {
  readonly name: string;
  readonly input: { readonly file?: string; readonly user?: string; readonly groups?: readonly string[] };
  readonly want: { readonly code: string };
}

const refusals: readonly RefusalRow[] = [
  {
    name: 'a token file that is not JSON is refused at open',
    input: { file: 'kg_plaintext,alice' },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'a token file with a plaintext token instead of a hash is refused at open',
    input: {
      file: JSON.stringify({
        version: 1,
        tokens: [{ sha256: 'kg_abc', user: 'a', groups: [], createdAt: '' }],
      }),
    },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'an empty user name is refused at issue',
    input: { user: '' },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'a user name with a newline is refused at issue',
    input: { user: 'alice\nImpersonate-User: admin' },
    want: { code: 'KG_CONFIG_INVALID' },
  },
  {
    name: 'a group with a comma is refused at issue',
    input: { user: 'alice', groups: ['dev,system:masters'] },
    want: { code: 'KG_CONFIG_INVALID' },
  },
];

for (const row of refusals) {
  test(row.name, async () => {
    const dataDir = await fresh();
    if (row.input.file !== undefined) await writeFile(join(dataDir, 'tokens.json'), row.input.file);
    const attempt = async (): Promise<unknown> => {
      const store = await TokenStore.open(dataDir);
      return store.issue(row.input.user ?? 'alice', row.input.groups ?? []);
    };
    await assert.rejects(attempt(), (err: unknown) => {
      assert.ok(err instanceof KubegateError);
      assert.equal(err.code, row.want.code);
      return true;
    });
  });
}
