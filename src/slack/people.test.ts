import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSlackPeople, type SlackPeopleDeps } from './people.js';

type Answer = { status?: number; body: unknown } | Error;

/** A users.info stand-in: answers by user id, counting calls. */
function fakeSlack(answers: Record<string, Answer>) {
  const calls: { url: string; authorization: string | null }[] = [];
  const fetch = ((url: string, init?: RequestInit) => {
    calls.push({ url, authorization: new Headers(init?.headers).get('authorization') });
    const id = new URL(url).searchParams.get('user') ?? '';
    const answer = answers[id] ?? { body: { ok: false, error: 'user_not_found' } };
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(
      new Response(JSON.stringify(answer.body), {
        status: answer.status ?? 200,
        headers: { 'content-type': 'application/json' },
      }),
    );
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

const warnings: string[] = [];
const log = { warn: (_fields: object, message: string) => warnings.push(message) };

function people(answers: Record<string, Answer>, extra: Partial<SlackPeopleDeps> = {}) {
  const slack = fakeSlack(answers);
  let now = 0;
  const p = createSlackPeople({
    users: [
      { slackUserId: 'U0BOB', user: 'bob', groups: ['sre'] },
      { email: 'carol@example.com', user: 'carol', groups: ['security'] },
    ],
    lookup: { apiUrl: 'https://slack.test/api/', botToken: 'xoxb-1' },
    fetch: slack.fetch,
    log,
    now: () => now,
    cacheMs: 1000,
    ...extra,
  });
  return { p, calls: slack.calls, tick: (ms: number) => (now += ms) };
}

const email = (address: string, fields: object = {}) => ({
  body: { ok: true, user: { profile: { email: address }, ...fields } },
});

test('a configured Slack user id is that person, without asking Slack', async () => {
  const { p, calls } = people({});
  assert.deepEqual(await p.resolve('U0BOB'), { user: 'bob', groups: ['sre'] });
  assert.equal(calls.length, 0);
});

test('an email entry matches the profile email users.info gives, asked with the bot token', async () => {
  const { p, calls } = people({ U0CAROL: email('CAROL@example.com') });
  assert.deepEqual(await p.resolve('U0CAROL'), { user: 'carol', groups: ['security'] });
  assert.deepEqual(calls, [
    { url: 'https://slack.test/api/users.info?user=U0CAROL', authorization: 'Bearer xoxb-1' },
  ]);
});

const nobody: { name: string; answer: Answer }[] = [
  { name: 'a profile email no entry lists', answer: email('mallory@example.com') },
  {
    name: 'a deactivated Slack account, whatever its email',
    answer: email('carol@example.com', { deleted: true }),
  },
  { name: 'a bot, whatever its email', answer: email('carol@example.com', { is_bot: true }) },
  { name: 'Slack refusing (missing_scope)', answer: { body: { ok: false, error: 'missing_scope' } } },
  { name: 'Slack answering 429', answer: { status: 429, body: { ok: false, error: 'ratelimited' } } },
  { name: 'Slack unreachable', answer: new Error('connect ECONNREFUSED') },
  { name: 'a profile without email', answer: { body: { ok: true, user: { profile: {} } } } },
];

for (const row of nobody) {
  test(`${row.name} is nobody`, async () => {
    const { p } = people({ U0X: row.answer });
    assert.equal(await p.resolve('U0X'), null);
  });
}

test('without lookup, an id no entry lists is nobody and Slack is not asked', async () => {
  const { p, calls } = people({ U0CAROL: email('carol@example.com') }, { lookup: null });
  assert.equal(await p.resolve('U0CAROL'), null);
  assert.equal(calls.length, 0);
});

test('users.info answers are reused for the cache time; a failure is asked again at once', async () => {
  const answers: Record<string, Answer> = {
    U0CAROL: email('carol@example.com'),
    U0DOWN: new Error('timeout'),
  };
  const { p, calls, tick } = people(answers);
  await p.resolve('U0CAROL');
  await p.resolve('U0CAROL');
  assert.equal(calls.length, 1);
  tick(1001);
  await p.resolve('U0CAROL');
  assert.equal(calls.length, 2);
  await p.resolve('U0DOWN');
  await p.resolve('U0DOWN');
  assert.equal(calls.length, 4);
});

test('slackIdOf gives the first configured Slack id of a kubegate user, for mentions', () => {
  const { p } = people({});
  assert.equal(p.slackIdOf('bob'), 'U0BOB');
  assert.equal(p.slackIdOf('carol'), null);
});
