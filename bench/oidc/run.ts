// OIDC authenticator benchmark: what the identify stage costs per request, through the gateway's
// real authenticator list (client certificate, kubegate tokens, OIDC), for
//   - a kubegate static token (the baseline: a SHA-256 and a map lookup),
//   - the same OIDC ID token again and again (the cache: what kubectl does for an hour),
//   - a new ID token every time (signature verification, RS256 and ES256),
// against a provider served here on loopback (discovery and keys are fetched once, before the
// timed runs). Prints µs per request (mean, p50, p99; the median of 5 runs for the repeated
// tokens, one run over 2,000 new tokens) and what OIDC adds over the static token.
// Run: npx tsx bench/oidc/run.ts [--requests N]
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { gatewayIdentify } from '../../src/identity/authenticators.js';
import type { ClientCredentials } from '../../src/identity/authenticator.js';
import { createOidc } from '../../src/identity/oidc.js';
import { TokenStore } from '../../src/identity/tokens.js';

const arg = process.argv.indexOf('--requests');
const REQUESTS = arg > 0 ? Number(process.argv[arg + 1]) : 20_000;
/** New tokens are signed before the timed run; signing is slower than verifying. */
const FRESH_TOKENS = Math.min(REQUESTS, 2_000);
const WARMUP = 5_000;
/** Each cached case runs this often; the round with the median mean is reported. */
const ROUNDS = 5;

interface Keys {
  readonly alg: 'RS256' | 'ES256';
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function keys(alg: Keys['alg']): Promise<Keys> {
  const pair = await generateKeyPair(alg);
  const kid = alg.toLowerCase();
  return { alg, kid, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg } };
}

async function provider(published: readonly JWK[]): Promise<{ issuer: string; close(): void }> {
  let issuer = '';
  const server = createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/keys` }
        : { keys: published };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, close: () => server.close() };
}

/** An ID token as Hydra issues one (its claims, groups, a ~1 KB compact JWS with RS256). */
function mint(issuer: string, key: Keys, n: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: issuer,
    aud: ['kubegate'],
    sub: `user-${n}`,
    email: `user-${n}@example.com`,
    email_verified: true,
    groups: ['dev', 'sre', 'platform-oncall'],
    name: 'Some User',
    at_hash: 'hXW8pcRTaKYOiK1Ds3-Ttg',
    auth_time: now,
    rat: now,
    sid: '6d5d0b63-51bb-4c2b-9a0d-1b7c7c1f3f2a',
    iat: now,
    exp: now + 3600,
    jti: `8e0b2a9c-${n}`,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

interface Result {
  readonly name: string;
  readonly requests: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

async function once_(
  name: string,
  identify: (c: ClientCredentials) => Promise<unknown>,
  credentials: readonly ClientCredentials[],
  requests: number,
): Promise<Result> {
  const samples = new Float64Array(requests);
  const started = performance.now();
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await identify(credentials[i % credentials.length]!);
    samples[i] = performance.now() - t0;
  }
  const total = performance.now() - started;
  samples.sort();
  const at = (q: number): number => samples[Math.min(requests - 1, Math.floor(q * requests))]! * 1000;
  return { name, requests, meanUs: (total / requests) * 1000, p50Us: at(0.5), p99Us: at(0.99) };
}

/** `rounds` runs of `requests` identify calls; the run with the median mean. */
async function measure(
  name: string,
  identify: (c: ClientCredentials) => Promise<unknown>,
  tokens: readonly string[],
  requests: number,
  rounds = ROUNDS,
): Promise<Result> {
  const credentials = tokens.map((t): ClientCredentials => ({
    certificate: null,
    authorization: `Bearer ${t}`,
  }));
  const runs: Result[] = [];
  for (let r = 0; r < rounds; r++) runs.push(await once_(name, identify, credentials, requests));
  runs.sort((a, b) => a.meanUs - b.meanUs);
  return runs[Math.floor(runs.length / 2)]!;
}

async function main(): Promise<void> {
  const rs = await keys('RS256');
  const es = await keys('ES256');
  const idp = await provider([rs.jwk, es.jwk]);
  const dataDir = await mkdtemp(join(tmpdir(), 'kubegate-bench-oidc-'));
  try {
    const store = await TokenStore.open(dataDir);
    const staticToken = await store.issue('bob', ['dev']);
    const log = { info: () => undefined, warn: () => undefined } as unknown as Parameters<
      typeof createOidc
    >[1]['log'];
    const config = {
      issuerUrl: idp.issuer,
      audiences: ['kubegate'],
      usernameClaim: 'email',
      usernamePrefix: '',
      groupsClaim: 'groups',
      groupsPrefix: 'oidc:',
      requiredClaims: {},
    };
    // The cache holds every fresh token of a run; a new authenticator per case starts it empty.
    const fresh = () => createOidc([config], { log, cacheSize: 100_000 });
    const withoutOidc = gatewayIdentify(store);

    const cachedToken = await mint(idp.issuer, rs, 0);
    const rsTokens = await Promise.all(
      Array.from({ length: FRESH_TOKENS }, (_, i) => mint(idp.issuer, rs, i + 1)),
    );
    const esTokens = await Promise.all(
      Array.from({ length: FRESH_TOKENS }, (_, i) => mint(idp.issuer, es, i + 1)),
    );

    const results: Result[] = [];
    {
      await measure('warm-up', withoutOidc, [staticToken], WARMUP);
      results.push(await measure('kubegate token, no OIDC configured', withoutOidc, [staticToken], REQUESTS));
    }
    {
      const oidc = fresh();
      const identify = gatewayIdentify(store, oidc.authenticator);
      await identify({ certificate: null, authorization: `Bearer ${cachedToken}` }); // discovery, keys, cache
      await measure('warm-up', identify, [staticToken, cachedToken], WARMUP);
      results.push(await measure('kubegate token, OIDC configured', identify, [staticToken], REQUESTS));
      results.push(await measure('OIDC ID token, cached', identify, [cachedToken], REQUESTS));
    }
    for (const [name, tokens] of [
      ['OIDC ID token, new each time (RS256)', rsTokens],
      ['OIDC ID token, new each time (ES256)', esTokens],
    ] as const) {
      const oidc = fresh();
      const identify = gatewayIdentify(store, oidc.authenticator);
      await identify({ certificate: null, authorization: `Bearer ${cachedToken}` }); // discovery and keys
      results.push(await measure(name, identify, tokens, tokens.length, 1));
    }

    console.log(
      `OIDC identify benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    );
    console.log(`ID token size: ${cachedToken.length} bytes; static token: ${staticToken.length} bytes\n`);
    console.log(
      '| case | requests | µs/request (mean) | p50 µs | p99 µs | added vs kubegate token: mean / p50 µs |',
    );
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const r of results) {
      const added =
        r === results[0]
          ? '—'
          : `${(r.meanUs - results[0]!.meanUs).toFixed(2)} / ${(r.p50Us - results[0]!.p50Us).toFixed(2)}`;
      console.log(
        `| ${r.name} | ${r.requests} | ${r.meanUs.toFixed(2)} | ${r.p50Us.toFixed(2)} | ${r.p99Us.toFixed(2)} | ${added} |`,
      );
    }
  } finally {
    idp.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
