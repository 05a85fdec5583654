// The next-reason store, the same behaviour on both stores (SQLite, and a real PostgreSQL shared
// by two replicas): set replaces, get never returns an expired reason, clear with setAt leaves a
// reason set since in place.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { storeIn } from '../config/schema.js';
import type { NextReasonStore } from '../approvals/reasons.js';
import { openStore, type Store } from './open.js';
import { postgresStoreConfig, startTestPostgres, type TestPostgres } from './postgres/test-server.js';

const T0 = Date.parse('2026-12-04T10:00:00.000Z');
let server: TestPostgres;
const dirs: string[] = [];
before(async () => {
  server = await startTestPostgres();
});
after(async () => {
  await server.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function behaves(writer: NextReasonStore, reader: NextReasonStore): Promise<void> {
  assert.equal(await reader.get('alice', T0), null);
  await writer.set('alice', { text: 'first', setAt: T0, expiresAt: T0 + 60_000 });
  await writer.set('alice', { text: 'INC-1 <b>x</b>', setAt: T0 + 1, expiresAt: T0 + 60_000 });
  assert.deepEqual(await reader.get('alice', T0 + 10), {
    text: 'INC-1 <b>x</b>',
    setAt: T0 + 1,
    expiresAt: T0 + 60_000,
  });
  assert.equal(await reader.get('alice', T0 + 60_000), null, 'expired');
  assert.equal(await reader.get('bob', T0 + 10), null, 'one per user');
  await reader.clear('alice', T0);
  assert.equal((await reader.get('alice', T0 + 10))?.text, 'INC-1 <b>x</b>', 'a reason set since stays');
  await reader.clear('alice', T0 + 1);
  assert.equal(await reader.get('alice', T0 + 10), null);
  await writer.set('alice', { text: 'again', setAt: T0 + 2, expiresAt: T0 + 60_000 });
  await reader.clear('alice');
  assert.equal(await writer.get('alice', T0 + 10), null);
}

test('SQLite: reasons are set, read before they expire, and cleared', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-reasons-store-'));
  dirs.push(dir);
  const store = await openStore(storeIn(dir));
  try {
    await behaves(store.reasons!, store.reasons!);
  } finally {
    await store.close();
  }
});

test('PostgreSQL: a reason set through one replica is read and cleared through another', async () => {
  const url = await server.createDatabase();
  const stores: Store[] = [];
  try {
    stores.push(await openStore(postgresStoreConfig(url)), await openStore(postgresStoreConfig(url)));
    await behaves(stores[0]!.reasons!, stores[1]!.reasons!);
  } finally {
    for (const s of stores) await s.close();
  }
});
