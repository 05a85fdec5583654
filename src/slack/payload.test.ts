import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSlackAction } from './payload.js';

const FORM = 'application/x-www-form-urlencoded';
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', name), 'utf8')) as Record<string, unknown>;
const form = (payload: unknown): Buffer =>
  Buffer.from(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());

test('a recorded Approve press: the pending id, the Slack user, the team and the response_url', () => {
  const got = parseSlackAction(form(fixture('block-actions-approve.json')), FORM);
  assert.deepEqual(got, {
    ok: true,
    action: {
      decision: 'approve',
      pendingId: 'kg-7x2k9q4m1a',
      slackUserId: 'U0BOBSRE01',
      slackUserName: 'bob',
      teamId: 'T0KUBEGATE',
      responseUrl: 'https://hooks.slack.com/actions/T0KUBEGATE/1232321423432/D09sSasdasdAS9091209',
    },
  });
});

test('a recorded Deny press is a deny by its presser', () => {
  const got = parseSlackAction(form(fixture('block-actions-deny.json')), `${FORM}; charset=utf-8`);
  assert.ok(got.ok);
  assert.equal(got.action.decision, 'deny');
  assert.equal(got.action.slackUserId, 'U0CAROL002');
});

const approve = fixture('block-actions-approve.json');
const withAction = (fields: Record<string, unknown>) => ({
  ...approve,
  actions: [{ ...(approve['actions'] as Record<string, unknown>[])[0], ...fields }],
});

const refused: { name: string; body: Buffer; type?: string; want: RegExp }[] = [
  {
    name: 'a JSON body is refused (Slack sends a form)',
    body: Buffer.from(JSON.stringify(approve)),
    type: 'application/json',
    want: /form-urlencoded/,
  },
  { name: 'a form without payload is refused', body: Buffer.from('token=x&user_id=U1'), want: /no payload/ },
  { name: 'a payload that is not JSON is refused', body: Buffer.from('payload=%7Bnope'), want: /not JSON/ },
  {
    name: 'a view_submission is not a button press',
    body: form({ ...approve, type: 'view_submission' }),
    want: /block_actions/,
  },
  {
    name: 'another app’s button is not acted on',
    body: form(withAction({ action_id: 'deploy_now' })),
    want: /not a kubegate button/,
  },
  {
    name: 'a value that is not a pending id is refused',
    body: form(withAction({ value: '../../v1/requests' })),
    want: /pending request id/,
  },
  {
    name: 'a payload without a user id is refused',
    body: form({ ...approve, user: { username: 'bob' } }),
    want: /no user id/,
  },
];

for (const row of refused) {
  test(row.name, () => {
    const got = parseSlackAction(row.body, row.type ?? FORM);
    assert.equal(got.ok, false);
    assert.match(got.ok ? '' : got.problem, row.want);
  });
}

test('a response_url that is not http(s) is dropped, not followed', () => {
  const got = parseSlackAction(form({ ...approve, response_url: 'file:///etc/passwd' }), FORM);
  assert.ok(got.ok);
  assert.equal(got.action.responseUrl, null);
});
