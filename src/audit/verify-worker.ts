// Runs verifyAuditDatabase in a child process (verifier.ts starts it): checking a long chain
// takes seconds of CPU, which on the gateway's thread would stall every request. A process, not
// a worker thread: Node 20's worker threads do not inherit tsx's loader, so from source (tests)
// a worker could not load this file. Input: the trail's path as the only argument. Output: one
// line of JSON on stdout, {report} or {error}.
import { openAuditReader } from './sqlite-trail.js';
import { verifyAuditDatabase } from './verify.js';

const file = process.argv[2] ?? '';
try {
  const db = openAuditReader(file);
  try {
    process.stdout.write(`${JSON.stringify({ report: verifyAuditDatabase(db) })}\n`);
  } finally {
    db.close();
  }
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
}
