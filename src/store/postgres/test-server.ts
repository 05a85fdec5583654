// A private PostgreSQL server for tests: initdb into a temporary folder, `postgres` on a free
// loopback port, stopped (and the folder removed) by stop(). Used by the tests beside the
// PostgreSQL store and the CLI's (later also by the e2e tests of several replicas). Spawned so
// that it dies with the test process (PR_SET_PDEATHSIG through setpriv): a crashed run leaves no
// server behind.
// initdb and postgres refuse to run as root: as root, they run as `nobody` with the folder
// theirs. The binaries come from PATH or Debian's /usr/lib/postgresql/<version>/bin.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../demo/ports.js';
import { diesWithParentPrefix } from '../../demo/processes.js';
import type { StoreConfig } from '../open.js';

const run = promisify(execFile);

export interface TestPostgres {
  /** A new, empty database on the server; its URL. */
  createDatabase(): Promise<string>;
  /** Runs SQL as the superuser on `url`'s database (tests that tamper with the trail). */
  sql(url: string, text: string, values?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

/** The folder holding initdb and postgres, or null when PostgreSQL is not installed. */
export function postgresBinDir(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = join(debian, v, 'bin');
      if (existsSync(join(dir, 'initdb'))) return dir;
    }
  }
  return null;
}

/** As root: who the server runs as, and the setpriv prefix that becomes them. */
const AS_NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'];

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (bin === null) {
    throw new Error(
      'PostgreSQL is not installed: the tests need initdb and postgres (Debian: apt-get install postgresql; see docs/TESTBED.md)',
    );
  }
  const root = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-pg-'));
  const as = root ? AS_NOBODY : [];
  if (root) {
    const uid = Number((await run('id', ['-u', 'nobody'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'nobody'])).stdout.trim());
    await chown(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const [cmd, ...args] = [
    ...as,
    join(bin, 'initdb'),
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'kubegate',
    '-E',
    'UTF8',
    '--no-sync',
  ];
  await run(cmd, args, { timeout: 120_000 });
  const port = await freePort();
  // The user switch first: PR_SET_PDEATHSIG is cleared when credentials change.
  const [server, ...serverArgs] = [
    ...as,
    ...diesWithParentPrefix(),
    join(bin, 'postgres'),
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=200',
  ];
  const child = spawn(server, serverArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const admin = `postgres://kubegate@127.0.0.1:${port}/postgres`;
  try {
    await waitReady(admin, child, () => log);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let n = 0;
  const sql = async (url: string, text: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await client.query(text, values);
    } finally {
      await client.end();
    }
  };
  return {
    createDatabase: async () => {
      n += 1;
      await sql(admin, `CREATE DATABASE kubegate_${n}`);
      return `postgres://kubegate@127.0.0.1:${port}/kubegate_${n}`;
    },
    sql,
    stop: async () => {
      // SIGINT: fast shutdown (clients disconnected, no checkpoint wait for them).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited before it was ready:\n${log()}`);
    }
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => {});
      if (attempt > 600)
        throw new Error(`postgres did not accept connections: ${String(err)}\n${log()}`, { cause: err });
      // Waiting on the condition (a connection), polled: postgres has no readiness signal to await.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The store config of the database at `url`, as the config file's `store: { type: postgres, url }` gives it. */
export function postgresStoreConfig(url: string, max = 5): StoreConfig {
  return { type: 'postgres', url, pool: { max }, dir: '', auditFile: '' };
}
