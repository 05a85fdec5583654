// The loopback redirect on real sockets: it listens on 127.0.0.1 only, takes the first callback
// with the state kubegate sent, answers and ignores any other (a page the user visits can call
// this port), tells the browser how the sign-in ended, and stops waiting when the signal aborts.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { networkInterfaces } from 'node:os';
import { test } from 'node:test';
import { KubegateError } from '../errors.js';
import { listenForRedirect } from './login-redirect.js';

const STATE = 'state-kubegate-sent';

test('the first callback with the right state is taken; the browser is told it is signed in', async () => {
  const redirect = await listenForRedirect(0, STATE);
  try {
    assert.match(redirect.redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/u);
    const waiting = redirect.callback(AbortSignal.timeout(10_000));
    const page = fetch(`${redirect.redirectUri}?code=abc&state=${STATE}&iss=x`);
    const cb = await waiting;
    assert.equal(cb.url.href, `${redirect.redirectUri}?code=abc&state=${STATE}&iss=x`);
    cb.reply({ signedIn: true });
    const res = await page;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(await res.text(), /You can close this tab/u);
  } finally {
    await redirect.close();
  }
});

test('a callback with another state (or none) is answered 400 and ignored; the real one still comes through', async () => {
  const redirect = await listenForRedirect(0, STATE);
  try {
    const waiting = redirect.callback(AbortSignal.timeout(10_000));
    for (const query of ['?code=forged&state=other', '?code=forged']) {
      const forged = await fetch(`${redirect.redirectUri}${query}`);
      assert.equal(forged.status, 400);
      assert.match(await forged.text(), /does not belong to the sign-in kubegate started/u);
    }
    const page = fetch(`${redirect.redirectUri}?code=real&state=${STATE}`);
    const cb = await waiting;
    assert.equal(cb.url.searchParams.get('code'), 'real');
    cb.reply({ signedIn: false, why: 'the <provider> said no' });
    const res = await page;
    assert.equal(res.status, 400);
    assert.match(await res.text(), /the &#60;provider&#62; said no/u);
  } finally {
    await redirect.close();
  }
});

test('other paths and methods are not the callback', async () => {
  const redirect = await listenForRedirect(0, STATE);
  try {
    const base = redirect.redirectUri.replace('/callback', '');
    assert.equal((await fetch(`${base}/other?state=${STATE}`)).status, 404);
    assert.equal((await fetch(`${redirect.redirectUri}?state=${STATE}`, { method: 'POST' })).status, 404);
  } finally {
    await redirect.close();
  }
});

test('waiting ends with the signal’s reason when it aborts (the sign-in timeout)', async () => {
  const redirect = await listenForRedirect(0, STATE);
  try {
    const ctl = new AbortController();
    const waiting = redirect.callback(ctl.signal);
    ctl.abort(new Error('timed out'));
    await assert.rejects(waiting, /timed out/u);
  } finally {
    await redirect.close();
  }
});

test('it listens on loopback only: another address of this machine is refused', async (t) => {
  const other = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  if (other === undefined) {
    t.skip('this machine has no address but loopback');
    return;
  }
  const redirect = await listenForRedirect(0, STATE);
  try {
    const port = Number(new URL(redirect.redirectUri).port);
    await assert.rejects(fetch(`http://${other}:${port}/callback?state=${STATE}`), (err: unknown) => {
      assert.equal((err as { cause?: { code?: string } }).cause?.code, 'ECONNREFUSED');
      return true;
    });
  } finally {
    await redirect.close();
  }
});

test('a --listen-port already in use is one clear line', async () => {
  const busy = createServer().listen({ host: '127.0.0.1', port: 0 });
  await once(busy, 'listening');
  const port = (busy.address() as { port: number }).port;
  try {
    await assert.rejects(listenForRedirect(port, STATE), (err: unknown) => {
      assert.ok(err instanceof KubegateError);
      assert.equal(err.code, 'KG_LOGIN_FAILED');
      assert.match(
        err.message,
        new RegExp(`127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\): choose another --listen-port`, 'u'),
      );
      return true;
    });
  } finally {
    busy.close();
  }
});
