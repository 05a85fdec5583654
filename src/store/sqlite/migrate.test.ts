// The migration scheme on in-memory databases: migrations run in order from the file's version,
// once; a failing one leaves the file as it was; a reader only checks; a newer file is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database, { type SqliteDatabase } from './driver.js';
import { checkVersion, migrate, versionOf, type SqliteLayout } from './migrate.js';

const layout: SqliteLayout = {
  holds: 'test data',
  migrations: [
    'CREATE TABLE a (x INTEGER) STRICT;',
    "INSERT INTO a VALUES (1); CREATE TABLE b (y TEXT) STRICT; INSERT INTO b VALUES ('two');",
  ],
};

const tables = (db: SqliteDatabase): string[] =>
  db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => r.name);

test('a new file runs every migration, in order, and records the latest version', () => {
  const db = new Database(':memory:');
  migrate(db, 'test.db', layout);
  assert.equal(versionOf(db), 2);
  assert.deepEqual(tables(db), ['a', 'b']);
  assert.deepEqual(db.prepare('SELECT x FROM a').all(), [{ x: 1 }]);
  db.close();
});

test('a file at an older version runs only the migrations it lacks, and a second open none', () => {
  const db = new Database(':memory:');
  migrate(db, 'test.db', { ...layout, migrations: layout.migrations.slice(0, 1) });
  assert.equal(versionOf(db), 1);
  migrate(db, 'test.db', layout);
  migrate(db, 'test.db', layout);
  assert.equal(versionOf(db), 2);
  // Migration 2 inserted its row once.
  assert.deepEqual(db.prepare('SELECT x FROM a').all(), [{ x: 1 }]);
  db.close();
});

test('a migration that fails leaves the file at its version, with nothing of the batch applied', () => {
  const db = new Database(':memory:');
  migrate(db, 'test.db', { ...layout, migrations: layout.migrations.slice(0, 1) });
  const broken: SqliteLayout = {
    ...layout,
    migrations: [...layout.migrations, 'CREATE TABLE c (z INTEGER); CREATE TABLE a (x INTEGER);'],
  };
  assert.throws(() => migrate(db, 'test.db', broken), /already exists/u);
  assert.equal(versionOf(db), 1);
  assert.deepEqual(tables(db), ['a']);
  db.close();
});

test('a file from a newer kubegate is refused with KG_CONFIG_INVALID, by a writer and a reader', () => {
  const db = new Database(':memory:');
  db.pragma('user_version = 3');
  for (const open of [() => migrate(db, 'test.db', layout), () => checkVersion(db, 'test.db', layout)]) {
    assert.throws(open, {
      code: 'KG_CONFIG_INVALID',
      message:
        'test.db (test data) was written by a newer kubegate: its layout is version 3, and this kubegate knows versions up to 2. Run the newer kubegate, or restore the file from a backup taken before the upgrade.',
    });
  }
  assert.deepEqual(tables(db), []);
  db.close();
});

test('a reader only checks: it reports an older version and changes nothing', () => {
  const db = new Database(':memory:');
  assert.equal(checkVersion(db, 'test.db', layout), 0);
  migrate(db, 'test.db', { ...layout, migrations: layout.migrations.slice(0, 1) });
  assert.equal(checkVersion(db, 'test.db', layout), 1);
  assert.equal(versionOf(db), 1);
  migrate(db, 'test.db', layout);
  assert.equal(checkVersion(db, 'test.db', layout), null);
  db.close();
});
