// `kubegate audit query|verify|export|head`: commander wiring over the audit trail's reader
// (audit/store.ts, opened read-only by openStore), audit/export.ts and audit/head.ts. Which
// trail: the one the gateway's config names (--config: store and audit.file, as `kubegate serve`
// reads them), or <dir>/audit.db (--data-dir alone). Input: the command line (and for verify
// --against, a file of saved heads; for verify --jsonl, a copy a sink or export wrote, checked
// by audit/sinks/check-copy.ts alone or against the trail). Output: a table or JSON lines (query), a verdict and exit
// code 0/1 (verify), JSON lines (export) on stdout or in a file, one JSON line (head).
// Opens the trail read-only, so it runs beside a live gateway; must never write to the trail and
// never judge a record itself: verify's verdict is verifyChain's.
import { createReadStream, createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { ChainAnchor } from '../audit/chain.js';
import type { AuditEvent } from '../audit/event.js';
import { exportJsonl } from '../audit/export.js';
import { publishedHead, readSavedLine } from '../audit/head.js';
import { checkCopy } from '../audit/sinks/check-copy.js';
import type { AuditQuery, AuditReader } from '../audit/store.js';
import { loadConfig } from '../config/load.js';
import { DEFAULT_DATA_DIR, storeIn } from '../config/schema.js';
import { openStore } from '../store/open.js';

const CONFIG_HELP = "the gateway's configuration file (YAML): its store and audit.file name the trail";
const DATA_DIR_HELP = `where kubegate keeps its state (without --config: the trail is <dir>/audit.db; default ${DEFAULT_DATA_DIR})`;
const DEFAULT_LIMIT = 100;

/** Where the trail is: a config file, a data directory, or both (the directory overrides dataDir). */
interface TrailFlags {
  readonly config?: string;
  readonly dataDir?: string;
}

/** The query's filters as commander parses them (same names as AuditQuery), with the output flag. */
interface QueryFlags extends TrailFlags, Omit<AuditQuery, 'limit'> {
  readonly limit: number;
  readonly json?: boolean;
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('query, verify and export the hash-chained audit trail');

  audit
    .command('query')
    .description('show audit events, oldest first (the most recent --limit of them)')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--user <name>', 'requested by, or reviewed by, this user')
    .option('--verb <verb>', 'Kubernetes verb: get, list, watch, create, update, patch, delete, …')
    .option('--namespace <namespace>', 'namespace of the request')
    .option('--resource <resource>', 'resource, e.g. pods (with its subresources) or pods/exec')
    .option('--decision <decision>', 'allow, deny, approve, reject, unauthenticated, error')
    .option(
      '--kind <kind>',
      'decided, approval-requested, reviewed, escalated, expired, withdrawn, reason-given, granted, revoked, forwarded, refused',
    )
    .option('--request-id <id>', "one gateway request's events")
    .option('--pending-id <id>', "one pending request's events")
    .option(
      '--since <time>',
      'at or after an ISO 8601 time, or a duration back from now (90s, 15m, 1h, 7d)',
      (v) => parseSince(v, Date.now()),
    )
    .option('--until <time>', 'before an ISO 8601 time', parseIsoTime)
    .option('--limit <n>', 'at most this many, the most recent', parseLimit, DEFAULT_LIMIT)
    .option('--json', 'one JSON object per line: {seq, prevHash, hash, event}')
    .action(async (flags: QueryFlags) => {
      await withTrail(flags, async (reader) => {
        const query: AuditQuery = {
          user: flags.user,
          verb: flags.verb,
          namespace: flags.namespace,
          resource: flags.resource,
          decision: flags.decision,
          kind: flags.kind,
          requestId: flags.requestId,
          pendingId: flags.pendingId,
          since: flags.since,
          until: flags.until,
          limit: flags.limit,
        };
        const entries = await reader.query(query);
        if (flags.json === true) {
          // The same member order as an exported line.
          for (const { seq, prevHash, hash, event } of entries) {
            console.log(JSON.stringify({ seq, prevHash, hash, event }));
          }
        } else if (entries.length === 0) {
          console.log('no audit events match');
        } else {
          for (const line of table(entries.map((e) => row(e.event)))) console.log(line);
        }
      });
    });

  audit
    .command('verify')
    .description('check the hash chain of the whole trail; exit 1 naming the first bad record')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option(
      '--against <file>',
      "heads saved outside the database (lines `audit head` printed, or kubegate's JSON log): the chain must still hold each, which alone it cannot show after its last records were cut",
    )
    .option(
      '--jsonl <file>',
      "check a copy instead (a JSON-lines sink's file, or export's): each record's hash, the links between consecutive records, and with --config or --data-dir that the trail still holds every record of it",
    )
    .option('--partial', "with --jsonl: the copy may have gaps (one replica's sink beside others)")
    .action(async (flags: TrailFlags & { against?: string; jsonl?: string; partial?: boolean }) => {
      if (flags.jsonl !== undefined) {
        await verifyCopy(flags.jsonl, flags);
        return;
      }
      const against = flags.against === undefined ? undefined : await savedHeads(flags.against);
      await withTrail(flags, async (reader) => {
        const report = await reader.verify(against);
        if (report.ok) {
          console.log(`audit chain verified: ${report.count} records, last hash ${report.head.hash}`);
          const latest = against?.reduce((a, b) => (b.seq > a.seq ? b : a));
          if (latest !== undefined) {
            console.log(
              `it still holds the ${plural(against?.length ?? 0, 'head')} saved in ${flags.against ?? ''}, the furthest at seq ${latest.seq} (read at ${latest.time})`,
            );
          }
          return;
        }
        const where = report.time === null ? `seq ${report.seq}` : `seq ${report.seq} (${report.time})`;
        console.error(`audit chain broken at ${where}: ${report.problem}: ${report.detail}`);
        console.error(`${plural(report.count, 'record')} before it verified`);
        process.exitCode = 1;
      });
    });

  audit
    .command('head')
    .description(
      'print the chain head as one JSON line; keep it where the database cannot be written from (verify --against checks it)',
    )
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (flags: TrailFlags) => {
      await withTrail(flags, async (reader) => {
        const head = await reader.head();
        if (head === null) {
          console.error('the audit trail is empty: there is no head to save yet');
          process.exitCode = 1;
          return;
        }
        console.log(JSON.stringify(publishedHead(head, new Date())));
      });
    });

  audit
    .command('export')
    .description('write every record in seq order, one JSON object per line: {seq, prevHash, hash, event}')
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl']).makeOptionMandatory())
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--out <file>', 'write to this file (readable by its owner only) instead of stdout')
    .action(async (flags: TrailFlags & { out?: string }) => {
      await withTrail(flags, async (reader) => {
        if (flags.out === undefined) {
          const count = await exportJsonl(reader.records(), process.stdout);
          console.error(`exported ${count} records`);
        } else {
          const out = createWriteStream(flags.out, { mode: 0o600 });
          const count = await exportJsonl(reader.records(), out);
          out.end();
          await finished(out);
          console.error(`exported ${count} records to ${flags.out}`);
        }
      });
    });
}

/** `verify --jsonl`: the copy alone, or against the trail when one is named. */
async function verifyCopy(file: string, flags: TrailFlags & { partial?: boolean }): Promise<void> {
  const check = async (reader: AuditReader | null): Promise<void> => {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    const result = await checkCopy(lines, {
      partial: flags.partial === true,
      ...(reader === null ? {} : { store: reader.records() }),
    });
    if (!result.ok) {
      const where = result.seq === null ? `line ${result.line}` : `line ${result.line} (seq ${result.seq})`;
      console.error(`audit copy ${file} broken at ${where}: ${result.problem}: ${result.detail}`);
      console.error(`${plural(result.count, 'record')} before it verified`);
      process.exitCode = 1;
      return;
    }
    const span = result.last === null ? '' : `, seqs ${result.first ?? ''}–${result.last.seq}`;
    const gaps = result.missing === 0 ? '' : `, ${plural(result.missing, 'seq')} absent (a partial copy)`;
    const stored =
      reader === null ? '' : `; each is the trail's record (${plural(result.compared, 'record')} compared)`;
    console.log(`audit copy verified: ${plural(result.count, 'record')}${span}${gaps}${stored}`);
  };
  if (flags.config === undefined && flags.dataDir === undefined) await check(null);
  else await withTrail(flags, check);
}

/**
 * Every head in `file`, read line by line (a log file can be long): lines `audit head` printed,
 * and kubegate's JSON log lines that carry one; other lines are skipped. A line that claims to be
 * a head and is not stops the command: a head that silently did not count would let a cut pass.
 */
async function savedHeads(file: string): Promise<ChainAnchor[]> {
  const heads = new Map<string, ChainAnchor>();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of lines) {
      number += 1;
      const saved = readSavedLine(line);
      if (saved.kind === 'invalid') {
        throw new InvalidArgumentError(
          `line ${number} of ${file} is not a valid audit chain head (${saved.problem}); save heads with kubegate audit head`,
        );
      }
      // The same head shows more than once (logged at a stop and at the next start): keep one.
      if (saved.kind === 'head') heads.set(`${saved.head.seq} ${saved.head.hash}`, saved.head);
    }
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(
      `cannot read the saved heads in ${file} (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (heads.size === 0) {
    throw new InvalidArgumentError(
      `${file} holds no audit chain head: give it the lines kubegate audit head printed, or kubegate's JSON log`,
    );
  }
  return [...heads.values()];
}

async function withTrail(flags: TrailFlags, use: (reader: AuditReader) => Promise<void>): Promise<void> {
  const store = await openStore(
    flags.config === undefined
      ? storeIn(resolve(flags.dataDir ?? DEFAULT_DATA_DIR))
      : (
          await loadConfig({
            file: flags.config,
            ...(flags.dataDir === undefined ? {} : { overrides: { dataDir: flags.dataDir } }),
          })
        ).store,
    { readOnly: true },
  );
  try {
    await use(store.auditReader);
  } finally {
    await store.close();
  }
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
// A date, or a date-time with its zone: a time without one would be read in the local zone.
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

export function parseIsoTime(value: string): Date {
  const time = new Date(value);
  if (!ISO.test(value) || Number.isNaN(time.getTime())) {
    throw new InvalidArgumentError('expected an ISO 8601 date, or a date-time with Z or an offset');
  }
  return time;
}

/** `1h`, `15m`, `1h30m`, `7d` back from `now`, or an ISO time. */
export function parseSince(value: string, now: number): Date {
  if (/^(\d+[smhd])+$/.test(value)) {
    let ms = 0;
    for (const [, amount, unit] of value.matchAll(/(\d+)([smhd])/g)) {
      ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
    }
    return new Date(now - ms);
  }
  if (!ISO.test(value))
    throw new InvalidArgumentError('expected an ISO 8601 time or a duration such as 15m, 1h, 7d');
  return parseIsoTime(value);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number from 1');
  return n;
}

const HEADER = ['TIME', 'KIND', 'USER', 'VERB', 'RESOURCE', 'NAMESPACE/NAME', 'DECISION', 'STATUS', 'RULES'];

function row(event: AuditEvent): string[] {
  const r = event.request;
  const user = event.user ?? '-';
  const resource = r?.resource == null ? null : r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const place = [r?.namespace, r?.name].filter((part) => part != null && part !== '').join('/');
  const status = [event.status === null ? null : String(event.status), event.errorCode].filter(
    (s) => s !== null,
  );
  return [
    event.time,
    event.kind,
    // A reviewer acts on someone else's request: show both, requester first.
    event.actor !== null && event.actor !== event.user ? `${user} (by ${event.actor})` : user,
    r?.verb ?? '-',
    resource ?? '-',
    place === '' ? '-' : place,
    `${event.decision ?? '-'}${event.breakGlass ? ' BREAK-GLASS' : ''}`,
    status.length === 0 ? '-' : status.join(' '),
    event.rules.length === 0 ? '-' : event.rules.join(','),
  ];
}

/** Columns padded to their widest cell, three spaces apart, as kubectl prints. */
function table(rows: readonly string[][]): string[] {
  const all = [HEADER, ...rows];
  const widths = HEADER.map((_, i) => Math.max(...all.map((cells) => (cells[i] ?? '').length)));
  return all.map((cells) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd(),
  );
}
