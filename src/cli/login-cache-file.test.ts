// The token cache on a real file system: 0700 folder, 0600 file, a file open to others or a
// symlink is set aside (removed, with one line saying why) and never read, the lock lets one
// kubegate login at a time refresh and takes over a dead holder's lock.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CachedSignIn, LoginTarget } from '../identity/oidc-login-cache.js';
import { defaultCacheDir, openLoginCache } from './login-cache-file.js';

const target: LoginTarget = { issuer: 'https://idp.example.com', clientId: 'kubectl', scopes: ['openid'] };
const signIn: CachedSignIn = {
  version: 1,
  issuer: target.issuer,
  clientId: target.clientId,
  scopes: ['openid'],
  idToken: 'id-token',
  idTokenIssuedAt: 1_000,
  idTokenExpiresAt: 2_000,
  refreshToken: 'refresh-token',
};
const uid = process.getuid?.() ?? 0;

let home: string;
before(async () => {
  home = await mkdtemp(join(tmpdir(), 'kubegate-login-cache-'));
});
after(async () => {
  await rm(home, { recursive: true, force: true });
});

async function open(name: string, warnings: string[] = []) {
  return openLoginCache({
    dir: defaultCacheDir(join(home, name)),
    target,
    uid,
    warn: (l) => warnings.push(l),
  });
}

test('the cache lives in ~/.kube/cache/kubegate: folder 0700, file 0600, read back as written', async () => {
  const cache = await open('plain');
  assert.equal(await cache.read(), null);
  await cache.write(signIn);
  assert.match(cache.file, /\/\.kube\/cache\/kubegate\/[0-9a-f]{64}\.json$/u);
  assert.equal((await stat(join(home, 'plain/.kube/cache/kubegate'))).mode & 0o777, 0o700);
  assert.equal((await stat(cache.file)).mode & 0o777, 0o600);
  assert.deepEqual(await cache.read(), signIn);
});

test('an existing folder open to others is made 0700', async () => {
  const dir = defaultCacheDir(join(home, 'open-dir'));
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  await open('open-dir');
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
});

test('a cache file readable by others is not used: it is removed, with one line saying why', async () => {
  const warnings: string[] = [];
  const cache = await open('readable', warnings);
  await cache.write(signIn);
  await chmod(cache.file, 0o644);
  assert.equal(await cache.read(), null);
  assert.deepEqual(warnings, [
    `kubegate: not using the sign-in cache ${cache.file}: it is open to other users (mode 0644); it is removed`,
  ]);
  await assert.rejects(stat(cache.file), { code: 'ENOENT' });
  // The next write makes a private file again.
  await cache.write(signIn);
  assert.equal((await stat(cache.file)).mode & 0o777, 0o600);
});

test('a symlink in place of the cache file is not followed, and is removed', async () => {
  const warnings: string[] = [];
  const cache = await open('symlink', warnings);
  const elsewhere = join(home, 'planted.json');
  await writeFile(elsewhere, JSON.stringify({ ...signIn, idToken: 'planted' }), { mode: 0o600 });
  await symlink(elsewhere, cache.file);
  assert.equal(await cache.read(), null);
  assert.match(warnings[0] ?? '', /it is a symbolic link; it is removed$/u);
  await cache.write(signIn);
  const untouched = JSON.parse(await readFile(elsewhere, 'utf8')) as CachedSignIn;
  assert.equal(untouched.idToken, 'planted', 'the link target is untouched');
  assert.deepEqual(await cache.read(), signIn);
});

test('a cache file that is not a sign-in (garbage, another format) reads as none', async () => {
  const cache = await open('garbage');
  await writeFile(cache.file, '{"version": 7}', { mode: 0o600 });
  assert.equal(await cache.read(), null);
});

test('the lock admits one holder at a time; the next one gets it once it is released', async () => {
  const cache = await open('lock');
  const release = await cache.lock(5_000);
  let second = false;
  const waiting = cache.lock(10_000).then((r) => {
    second = true;
    return r;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(second, false);
  await release();
  await (
    await waiting
  )();
});

test('a lock whose holder died (kill -9) is taken over', async () => {
  const cache = await open('stale');
  // A PID that is certainly gone: a child that has exited and been reaped.
  const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
  await writeFile(`${cache.file}.lock`, String(dead), { mode: 0o600 });
  const release = await cache.lock(5_000);
  assert.equal(await readFile(`${cache.file}.lock`, 'utf8'), String(process.pid));
  await release();
});

test('a lock held for longer than the wait ends in one clear line, after saying who holds it', async () => {
  const cache = await open('held');
  await writeFile(`${cache.file}.lock`, String(process.pid), { mode: 0o600 });
  const told: number[] = [];
  await assert.rejects(
    cache.lock(1_500, (pid) => told.push(pid)),
    {
      code: 'KG_LOGIN_TIMEOUT',
      message: `another kubegate login (PID ${process.pid}) has been signing in for too long: finish or stop it, or remove ${cache.file}.lock`,
    },
  );
  assert.deepEqual(told, [process.pid]);
});
