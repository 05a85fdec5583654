// `kubegate store copy --from-config OLD.yaml --config NEW.yaml`: commander wiring over
// store/copy.ts, for moving from one replica to many. Input: two gateway configurations, OLD's
// store SQLite (its dataDir and audit.file), NEW's PostgreSQL. Output: what was copied and the
// PostgreSQL chain's verdict; exit code 0, or 1 with nothing written to PostgreSQL (or, should
// the committed copy not verify, a message saying so). Must never copy with a gateway running on
// the SQLite files (the copy refuses files another process has open).
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { KubegateError } from '../errors.js';
import { copySqliteToPostgres } from '../store/copy.js';

const HELP_AFTER = `
Stop the gateway first: the SQLite files must not be open in any other process (a running
gateway or kubegate audit makes the copy refuse). The PostgreSQL database must hold no kubegate
data yet (kubegate creates its tables); the copy is one transaction, so a failure leaves it as it
was. Audit records keep their seq and hashes, so heads saved before the move still verify:
  kubegate audit verify --config NEW.yaml --against heads.jsonl`;

interface CopyFlags {
  readonly fromConfig: string;
  readonly config: string;
}

export function registerStore(program: Command): void {
  const store = program.command('store').description("move kubegate's state from one store to another");

  store
    .command('copy')
    .description(
      "copy a stopped gateway's SQLite store (pending requests and grants, web sessions, the audit trail) into an empty PostgreSQL store, then verify the audit chain there",
    )
    .requiredOption('--from-config <file>', "the single gateway's configuration file (YAML): a sqlite store")
    .requiredOption('-c, --config <file>', 'the configuration of the replicas (YAML): a postgres store')
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: CopyFlags) => {
      const from = (await loadConfig({ file: flags.fromConfig })).store;
      const to = (await loadConfig({ file: flags.config })).store;
      if (from.type !== 'sqlite') {
        throw wrongStore(flags.fromConfig, from, 'sqlite', 'the single gateway ran with');
      }
      if (to.type !== 'postgres') {
        throw wrongStore(flags.config, to, 'postgres', 'the replicas will run with');
      }
      const report = await copySqliteToPostgres(from, to);
      console.log(`copied from ${from.dir} (approvals.db) and ${from.auditFile} into the PostgreSQL store:`);
      console.log(`  pending requests: ${report.pending}`);
      console.log(`  web sessions: ${report.sessions}`);
      console.log(
        `  audit records: ${report.auditRecords}${report.head === null ? '' : ` (head ${report.head.seq} ${report.head.hash})`}`,
      );
      const verified = report.verified;
      if (verified.ok) {
        console.log(
          `chain verified: ${verified.count} records, head ${verified.head.seq} ${verified.head.hash}`,
        );
        return;
      }
      console.error(
        `the copied audit chain does not verify on PostgreSQL at seq ${verified.seq}: ${verified.problem}: ${verified.detail}. The copy is committed: keep the gateway on SQLite, drop and recreate the PostgreSQL database, and report this.`,
      );
      process.exitCode = 1;
    });
}

function wrongStore(
  file: string,
  store: Config['store'],
  want: 'sqlite' | 'postgres',
  whose: string,
): KubegateError {
  return new KubegateError(
    'KG_CONFIG_INVALID',
    `${file} configures a ${store.type} store, and store copy needs a ${want} one there: give the configuration ${whose}`,
  );
}
