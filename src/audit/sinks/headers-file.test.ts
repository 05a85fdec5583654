// The webhook sink's headersFile (headers-file.ts): `Name: value` lines added to the inline
// headers; a file that cannot be read, a line that is no header, and a header named twice are each
// a config error naming the file, never quoting a value. Also openAuditSinks: a relative jsonl
// path is a file in dataDir, and a webhook with a missing headersFile stops the start.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportLine } from '../export.js';
import { readHeadersFile } from './headers-file.js';
import { openAuditSinks, type AuditSinkConfig } from './open-sinks.js';
import { chainOf, recorder } from './test-records.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-headers-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const table: readonly {
  name: string;
  text: string;
  inline?: Record<string, string>;
  want: Record<string, string> | { error: RegExp };
}[] = [
  {
    name: 'a Name: value line per header, blank lines and comments skipped, values trimmed',
    text: '# the collector\nAuthorization: Bearer s3cr:et\n\r\nX-Splunk-Index:  kube \n',
    want: { Authorization: 'Bearer s3cr:et', 'X-Splunk-Index': 'kube' },
  },
  {
    name: 'inline headers are kept beside the file',
    text: 'Authorization: Bearer t\n',
    inline: { 'X-Source': 'kubegate' },
    want: { 'X-Source': 'kubegate', Authorization: 'Bearer t' },
  },
  {
    name: 'a line that is no header is refused by its line number, its text not quoted',
    text: 'Authorization: Bearer t\nBearer hunter2\n',
    want: { error: /headersFile .*headers-\d+ line 2 is not a 'Name: value' header$/u },
  },
  {
    name: 'a header named in the file and inline is refused, whatever its case',
    text: 'authorization: Bearer t\n',
    inline: { Authorization: 'Bearer u' },
    want: { error: /line 1 names authorization again/u },
  },
];

for (const [i, row] of table.entries()) {
  test(row.name, async () => {
    const path = join(dir, `headers-${i}`);
    await writeFile(path, row.text);
    if ('error' in row.want) {
      const error = (row.want as { error: RegExp }).error;
      assert.throws(
        () => readHeadersFile(path, row.inline),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'KG_CONFIG_INVALID');
          assert.match(err.message, error);
          assert.doesNotMatch(err.message, /hunter2|Bearer/u);
          return true;
        },
      );
    } else {
      assert.deepEqual(readHeadersFile(path, row.inline), row.want);
    }
  });
}

const webhook = (headersFile: string): AuditSinkConfig => ({
  type: 'webhook',
  url: 'http://127.0.0.1:9/in',
  headers: {},
  headersFile,
  batchMaxRecords: 10,
  batchMaxMs: 10,
  maxQueueRecords: 10,
  timeoutMs: 100,
  retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
});

test('a missing headersFile stops the start with KG_CONFIG_INVALID naming the file', () => {
  const missing = join(dir, 'no-such-secret');
  const { log } = recorder();
  assert.throws(
    () => openAuditSinks([{ type: 'jsonl', path: 'first.jsonl' }, webhook(missing)], log, { dataDir: dir }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'KG_CONFIG_INVALID');
      assert.ok(err.message.includes(missing), err.message);
      assert.match(err.message, /ENOENT/u);
      return true;
    },
  );
});

test('a relative jsonl path is a file in dataDir', async () => {
  const { log } = recorder();
  const sinks = openAuditSinks([{ type: 'jsonl', path: 'copy.jsonl' }], log, { dataDir: dir });
  const records = chainOf(2);
  sinks.onCommitted?.(records);
  await sinks.close();
  assert.equal(await readFile(join(dir, 'copy.jsonl'), 'utf8'), records.map((r) => exportLine(r)).join(''));
});
