// The gateway's audit verify in a child process, for every store: a long chain is hashed there,
// never on the event loop that serves requests. The child (each store's audit-verify-worker)
// reads its input as JSON on stdin (saved heads would not fit a command line, and a database URL
// must not appear in one) and answers one JSON line: {report} or {error}.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AuditVerifyReport } from '../audit/store.js';
import { auditUnavailable } from './audit-append.js';

/**
 * The worker module beside `moduleUrl` (a store's import.meta.url): `name`.js when built, .ts from
 * source (under tsx, whose loader flags the child inherits through execArgv).
 */
export function workerPath(moduleUrl: string, name: string): string {
  return fileURLToPath(new URL(`./${name}${moduleUrl.endsWith('.ts') ? '.ts' : '.js'}`, moduleUrl));
}

export function verifyInChild(
  worker: string,
  args: readonly string[],
  input: unknown,
): Promise<AuditVerifyReport> {
  return new Promise<AuditVerifyReport>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [...process.execArgv, worker, ...args],
      { maxBuffer: 1024 * 1024, timeout: 10 * 60_000 },
      (err, stdout) => {
        let message: { report?: AuditVerifyReport; error?: string };
        try {
          message = JSON.parse(stdout) as typeof message;
        } catch {
          reject(auditUnavailable(err?.message ?? 'the check gave no answer'));
          return;
        }
        if (message.report === undefined)
          reject(auditUnavailable(message.error ?? 'the check sent no report'));
        else resolve(message.report);
      },
    );
    // A child that died before reading its input is reported by the callback above (no answer).
    child.stdin?.on('error', () => {});
    child.stdin?.end(JSON.stringify(input));
  });
}
