// The SQLite driver, chosen for the Node.js running kubegate: better-sqlite3 13 (Node-API) on
// Node ≥ 22, better-sqlite3 12 on Node 20. Why two: 12 wraps its statements in V8's ObjectWrap,
// whose destructor Node 24 checks for a current Environment, so a statement finalized by a
// garbage collection outside a JavaScript context aborts the process ("Assertion failed: (env)
// != nullptr" in RemoveEnvironmentCleanupHook; WiseLibs/better-sqlite3#1515); 13 is built on
// Node-API, free of that, but needs Node ≥ 22 (it crashes Node 20 at exit). Both have the same
// API; 13 ships its prebuilt Node-API binaries in the npm package, 12 compiles at install.
// Every SQLite file kubegate opens goes through here (store/sqlite/database.ts, store/copy.ts).
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);

/** The Node.js major version from which the Node-API driver is used. */
export const NODE_API_DRIVER_FROM = 22;

function load(): typeof BetterSqlite3 {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= NODE_API_DRIVER_FROM
    ? (require('better-sqlite3-napi') as typeof BetterSqlite3)
    : (require('better-sqlite3') as typeof BetterSqlite3);
}

const Database = load();
export default Database;

export type SqliteDatabase = BetterSqlite3.Database;
