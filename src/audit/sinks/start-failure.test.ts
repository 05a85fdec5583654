// The composition root's start (main.ts startGateway) opens the sinks before the store: when the
// store then fails to open, the start fails and the sinks' files are closed, not left open for the
// life of the process (a supervisor that retries the start in-process would pile them up).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../config/load.js';
import { startGateway } from '../../main.js';

/** The files this process holds open at `path` (Linux: /proc/self/fd). */
async function openAt(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
    if (target === path) count += 1;
  }
  return count;
}

test(
  'a store that fails to open after the sinks were opened: the start fails and the sink file is closed',
  {
    skip: process.platform !== 'linux' && 'needs /proc/self/fd',
  },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubegate-start-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      await writeFile(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]',
          'users: [{name: u, user: {token: t}}]',
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'current-context: x',
        ].join('\n'),
      );
      // The trail's folder is a regular file: the SQLite store cannot open.
      await writeFile(join(dir, 'not-a-dir'), '');
      const config = await loadConfig({
        cwd: dir,
        overrides: {
          dataDir: join(dir, 'state'),
          upstream: { kubeconfig },
          log: { level: 'fatal' },
          audit: { file: join(dir, 'not-a-dir', 'audit.db'), sinks: [{ type: 'jsonl', path: 'copy.jsonl' }] },
        },
      });
      const copy = join(dir, 'state', 'copy.jsonl');
      await assert.rejects(startGateway(config), (err: Error & { code?: string }) => {
        // The store's failure, not an earlier step's: the sink was opened before it.
        assert.match(`${err.message} ${err.code ?? ''}`, /not-a-dir|ENOTDIR|KG_STORE/u);
        return true;
      });
      assert.ok((await stat(copy)).isFile(), 'the sink had opened its file (in dataDir)');
      assert.equal(await openAt(copy), 0, 'the sink file is closed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
