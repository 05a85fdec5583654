// The import graph keeps the seams (docs/ARCHITECTURE.md): the product never imports its test
// bed; the domains (request, policy, approvals, audit, identity, upstream) never reach up into
// kubegate's HTTP surface (web/), the gateway, the CLI or the composition root; and the stores
// implement the domains' interfaces from below, so no domain imports a store.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const src = import.meta.dirname;
const root = resolve(src, '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Every relative import of a file, as a path from the repository root. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/gu)) {
    out.push(relative(root, resolve(dirname(file), m[1]!)));
  }
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/gu))
    out.push(relative(root, resolve(dirname(file), m[1]!)));
  return out;
}

/** The folder of src/ a path lies in ('' for a file at src/'s top, null outside src/). */
function area(path: string): string | null {
  if (!path.startsWith('src/')) return null;
  const parts = path.split('/');
  return parts.length > 2 ? parts[1]! : '';
}

const DOMAINS = new Set(['request', 'policy', 'approvals', 'audit', 'identity', 'upstream']);
const ABOVE_DOMAINS = new Set(['web', 'gateway', 'cli', 'store']);

const edges = sources(src).flatMap((file) => {
  const from = relative(root, file);
  return importsOf(file).map((to) => ({ from, to }));
});

test('the import scan sees the graph (a scan that finds nothing proves nothing)', () => {
  assert.ok(edges.length > 200, `only ${edges.length} imports found`);
  assert.ok(edges.some((e) => e.from === 'src/gateway/pipeline.ts' && e.to === 'src/request/parse.js'));
});

test('nothing in src/ imports the test bed, the tests or anything else outside src/', () => {
  const outside = edges.filter((e) => area(e.to) === null).map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(outside, []);
});

test('no domain folder imports web/, gateway/, cli/, store/ or the composition root', () => {
  const up = edges
    .filter(
      (e) =>
        DOMAINS.has(area(e.from) ?? '') && (ABOVE_DOMAINS.has(area(e.to) ?? '') || e.to === 'src/main.js'),
    )
    .map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(up, []);
});

test('store/ lies below: it implements the domains’ interfaces and imports no web/, gateway/ or cli/', () => {
  const up = edges
    .filter((e) => area(e.from) === 'store' && ['web', 'gateway', 'cli'].includes(area(e.to) ?? ''))
    .map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(up, []);
});

test('only store/ opens a database: better-sqlite3 and its driver module are imported nowhere else', () => {
  const users = sources(src)
    .filter((file) =>
      /from '(?:better-sqlite3[^']*|[^']*\/sqlite\/driver\.js)'/u.test(readFileSync(file, 'utf8')),
    )
    .map((file) => relative(root, file))
    .filter((path) => area(path) !== 'store');
  assert.deepEqual(users, []);
});

test('request/ is the pure core: it imports nothing of src/ but errors.ts', () => {
  const out = edges
    .filter((e) => area(e.from) === 'request' && area(e.to) !== 'request' && e.to !== 'src/errors.js')
    .map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(out, []);
});

test('only upstream/ reaches the API server: undici is imported there, by the CLI (for kubegate’s own API) and the demo cluster only', () => {
  const users = sources(src)
    .filter((file) => /from 'undici'/u.test(readFileSync(file, 'utf8')))
    .map((file) => relative(root, file))
    .filter((path) => !['upstream', 'cli', 'demo'].includes(area(path) ?? ''));
  assert.deepEqual(users, []);
});
