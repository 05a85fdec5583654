import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplayGuard, SLACK_MAX_AGE_S, slackSignature, verifySlackRequest } from './signature.js';

// Slack's worked example (api.slack.com/authentication/verifying-requests-from-slack): a slash
// command body, its timestamp, the documented signing secret and the signature Slack sent.
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const DOC_NOW_MS = Number(DOC_TIMESTAMP) * 1000 + 2_000;

const docRequest = (fields: { timestamp?: string; signature?: string; body?: string } = {}) => ({
  timestamp: 'timestamp' in fields ? fields.timestamp : DOC_TIMESTAMP,
  signature: 'signature' in fields ? fields.signature : DOC_SIGNATURE,
  body: Buffer.from(fields.body ?? DOC_BODY),
});

test('the signature of Slack’s documented example is the one Slack documents', () => {
  assert.equal(slackSignature(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY), DOC_SIGNATURE);
  assert.equal(slackSignature(DOC_SECRET, DOC_TIMESTAMP, Buffer.from(DOC_BODY)), DOC_SIGNATURE);
});

test('Slack’s documented request is accepted within the window', () => {
  assert.deepEqual(verifySlackRequest(docRequest(), DOC_SECRET, DOC_NOW_MS, new ReplayGuard()), { ok: true });
});

const refusals: {
  name: string;
  input: { timestamp?: string | undefined; signature?: string | undefined; body?: string };
  secret?: string;
  nowMs?: number;
  want: string;
}[] = [
  { name: 'a wrong signing secret is a mismatch', input: {}, secret: `${DOC_SECRET}x`, want: 'mismatch' },
  {
    name: 'one changed body byte is a mismatch',
    input: { body: DOC_BODY.replace('foobar', 'foobaz') },
    want: 'mismatch',
  },
  {
    name: 'a signature for another timestamp is a mismatch',
    input: { timestamp: String(Number(DOC_TIMESTAMP) + 1) },
    want: 'mismatch',
  },
  {
    name: 'a flipped hex digit is a mismatch',
    input: { signature: `${DOC_SIGNATURE.slice(0, -1)}4` },
    want: 'mismatch',
  },
  {
    name: 'a timestamp over five minutes old is stale, though the signature is right',
    input: {},
    nowMs: (Number(DOC_TIMESTAMP) + SLACK_MAX_AGE_S + 1) * 1000,
    want: 'stale',
  },
  {
    name: 'a timestamp over five minutes ahead is stale',
    input: {},
    nowMs: (Number(DOC_TIMESTAMP) - SLACK_MAX_AGE_S - 1) * 1000,
    want: 'stale',
  },
  { name: 'no signature header is missing', input: { signature: undefined }, want: 'missing' },
  { name: 'no timestamp header is missing', input: { timestamp: undefined }, want: 'missing' },
  {
    name: 'a v1= signature is malformed',
    input: { signature: DOC_SIGNATURE.replace('v0=', 'v1=') },
    want: 'malformed',
  },
  {
    name: 'an uppercase hex signature is malformed',
    input: { signature: DOC_SIGNATURE.toUpperCase() },
    want: 'malformed',
  },
  {
    name: 'a truncated signature is malformed',
    input: { signature: DOC_SIGNATURE.slice(0, 40) },
    want: 'malformed',
  },
  {
    name: 'a timestamp that is not a number is malformed',
    input: { timestamp: '1531420618.5' },
    want: 'malformed',
  },
];

for (const row of refusals) {
  test(row.name, () => {
    const got = verifySlackRequest(
      docRequest(row.input),
      row.secret ?? DOC_SECRET,
      row.nowMs ?? DOC_NOW_MS,
      new ReplayGuard(),
    );
    assert.deepEqual(got, { ok: false, refusal: row.want });
  });
}

test('the same signed request twice within the window is a replay; a forged one burns nothing', () => {
  const replays = new ReplayGuard();
  const forged = verifySlackRequest(docRequest({ body: `${DOC_BODY}&x=1` }), DOC_SECRET, DOC_NOW_MS, replays);
  assert.deepEqual(forged, { ok: false, refusal: 'mismatch' });
  assert.equal(replays.size, 0, 'only verified signatures are remembered');
  assert.deepEqual(verifySlackRequest(docRequest(), DOC_SECRET, DOC_NOW_MS, replays), { ok: true });
  assert.deepEqual(verifySlackRequest(docRequest(), DOC_SECRET, DOC_NOW_MS + 60_000, replays), {
    ok: false,
    refusal: 'replay',
  });
});

test('remembered signatures are forgotten once their timestamp has left the window', () => {
  const replays = new ReplayGuard();
  assert.ok(replays.firstUse('v0=a', 100, 400));
  assert.ok(replays.firstUse('v0=b', 200, 500));
  assert.equal(replays.firstUse('v0=a', 399, 699), false);
  assert.ok(replays.firstUse('v0=c', 450, 750));
  assert.equal(replays.size, 2, 'v0=a (until 400) is gone at 450');
});
