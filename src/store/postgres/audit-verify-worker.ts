// Runs the PostgreSQL trail's verify in a child process (audit-reader.ts starts it for the
// gateway): checking a long chain takes seconds of CPU, which on the gateway's thread would stall
// every request. As store/sqlite/audit-verify-worker.ts, a process rather than a worker thread
// (Node 20's workers do not inherit tsx's loader). Input on stdin, as JSON: the database URL (not
// an argument: arguments are visible to every user of the machine) and the saved heads to check
// against. Output: one line of JSON on stdout, {report} or {error}.
import type { ChainAnchor } from '../../audit/chain.js';
import { postgresAuditReader } from './audit-reader.js';
import { openPool } from './database.js';

try {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const { url, against } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    url: string;
    against: ChainAnchor[];
  };
  const pool = openPool(url, 1);
  try {
    const report = await postgresAuditReader(pool, { verify: 'inline' }).verify(against);
    process.stdout.write(`${JSON.stringify({ report })}\n`);
  } finally {
    await pool.end();
  }
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
}
