import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSlack } from './open.js';

const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const deps = { publicUrl: null, log, now: () => new Date() };

test('opened from its files: messages get buttons and mention configured users', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kg-slack-'));
  await writeFile(join(dir, 'secret'), 'abc123\n');
  const slack = await openSlack(
    { signingSecretFile: join(dir, 'secret'), users: [{ slackUserId: 'U0BOB', user: 'bob', groups: [] }] },
    deps,
  );
  assert.equal(slack.message.interactive, true);
  assert.equal(slack.message.slackIdOf?.('bob'), 'U0BOB');
});

test('an empty or unreadable secret file stops startup, naming the field and never a secret', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kg-slack-'));
  await writeFile(join(dir, 'empty'), ' \n');
  await writeFile(join(dir, 'secret'), 'abc123');
  await assert.rejects(
    openSlack({ signingSecretFile: join(dir, 'empty'), users: [] }, deps),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'KG_CONFIG_INVALID');
      assert.match(err.message, /^slack\.signingSecretFile: .* is empty$/);
      return true;
    },
  );
  await assert.rejects(
    openSlack(
      {
        signingSecretFile: join(dir, 'secret'),
        users: [],
        lookup: { botTokenFile: join(dir, 'missing'), apiUrl: 'https://slack.com/api' },
      },
      deps,
    ),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'KG_CONFIG_INVALID');
      assert.match(err.message, /^slack\.lookup\.botTokenFile: .*missing cannot be read/);
      assert.ok(!err.message.includes('abc123'));
      return true;
    },
  );
});
