// Runs verifySqliteTrail in a child process (audit-reader.ts starts it for the gateway): checking
// a long chain takes seconds of CPU, which on the gateway's thread would stall every request. A
// process, not a worker thread: Node 20's worker threads do not inherit tsx's loader, so from
// source (tests) a worker could not load this file. Input: the trail's path as the only
// argument, and the saved heads to check against as JSON on stdin. Output: one line of JSON on
// stdout, {report} or {error}.
import type { ChainAnchor } from '../../audit/chain.js';
import { openSqliteAuditReader } from './audit-reader.js';

const file = process.argv[2] ?? '';
try {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = Buffer.concat(chunks).toString('utf8');
  const against = (input === '' ? [] : JSON.parse(input)) as ChainAnchor[];
  const reader = openSqliteAuditReader(file, { verify: 'inline' });
  try {
    process.stdout.write(`${JSON.stringify({ report: await reader.verify(against) })}\n`);
  } finally {
    reader.close();
  }
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
}
