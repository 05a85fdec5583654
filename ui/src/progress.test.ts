import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eligibility, progressOf as serverProgressOf } from '../../src/approvals/state-machine.js';
import type { ApprovalRequirement, Review } from './api-types.js';
import { progressOf, progressSummary, reviewableBy, shownProgress } from './progress.js';
import { MIN, T0, at, group, pending, requirement, review, stage, user } from './test-fixtures.js';

interface Row {
  readonly name: string;
  readonly requirements: readonly ApprovalRequirement[];
  readonly reviews: readonly Review[];
  readonly escalateAt?: string;
  /** Per requirement: stage statuses and who approved each stage. */
  readonly want: readonly string[];
  readonly summary: readonly string[];
}

const twoStages = requirement({
  rule: 'two-stages',
  stages: [stage([group('sre')], 1, 'sre'), stage([group('security')], 1, 'security')],
});

const rows: readonly Row[] = [
  {
    name: 'nobody has reviewed yet',
    requirements: [requirement({ stages: [stage([group('sre')], 2)] })],
    reviews: [],
    want: ['approval:current[]'],
    summary: ['0/2'],
  },
  {
    name: 'one of two approvals is in',
    requirements: [requirement({ stages: [stage([group('sre')], 2)] })],
    reviews: [review('bob', ['sre'])],
    want: ['approval:current[bob]'],
    summary: ['1/2'],
  },
  {
    name: 'an approval from someone the stage does not name does not count',
    requirements: [requirement({ stages: [stage([group('sre')], 2)] })],
    reviews: [review('mallory', ['dev'])],
    want: ['approval:current[]'],
    summary: ['0/2'],
  },
  {
    name: 'a finished first stage keeps who approved it; the second is current',
    requirements: [twoStages],
    reviews: [review('bob', ['sre'])],
    want: ['sre:done[bob] security:current[]'],
    summary: ['0/1 (stage 2/2: security)'],
  },
  {
    name: 'both stages done',
    requirements: [twoStages],
    reviews: [review('bob', ['sre']), review('dave', ['security'])],
    want: ['sre:done[bob] security:done[dave]'],
    summary: ['approved'],
  },
  {
    name: 'one approval counts for every requirement that names the reviewer',
    requirements: [requirement({ rule: 'a' }), requirement({ rule: 'b', stages: [stage([user('bob')])] })],
    reviews: [review('bob', ['sre'])],
    want: ['approval:done[bob]', 'approval:done[bob]'],
    summary: ['approved', 'approved'],
  },
  {
    name: 'an escalateTo approver counts only after escalateAt',
    requirements: [requirement({ escalateTo: [group('managers')], stages: [stage([group('sre')], 2)] })],
    reviews: [
      review('frank', ['managers'], { at: at(1 * MIN) }),
      review('gina', ['managers'], { at: at(10 * MIN) }),
    ],
    escalateAt: at(5 * MIN),
    want: ['approval:current[gina]'],
    summary: ['1/2'],
  },
  {
    name: 'break-glass completes every stage',
    requirements: [twoStages],
    reviews: [review('alice', ['dev'], { breakGlass: true })],
    want: ['sre:done[] security:done[]'],
    summary: ['break-glass'],
  },
  {
    name: 'a deny is not an approval',
    requirements: [requirement()],
    reviews: [review('bob', ['sre'], { decision: 'deny', comment: 'no' })],
    want: ['approval:current[]'],
    summary: ['0/1'],
  },
];

for (const row of rows) {
  const p = pending({
    requirements: row.requirements,
    reviews: row.reviews,
    escalateAt: row.escalateAt ?? null,
  });
  test(`progressOf: ${row.name}`, () => {
    const got = progressOf(p).map((r) =>
      r.stages.map((s) => `${s.name}:${s.status}[${s.approvedBy.join(',')}]`).join(' '),
    );
    assert.deepEqual(got, row.want);
    assert.deepEqual(progressSummary(progressOf(p)), row.summary);
  });
  test(`progressOf agrees with the server's state machine: ${row.name}`, () => {
    const server = serverProgressOf(p, new Date(at(60 * MIN)));
    const mine = progressOf(p);
    assert.deepEqual(
      mine.map((r) => ({ done: r.done, approvedBy: r.done ? [] : r.stages[r.stageIndex]!.approvedBy })),
      server.map((r) => ({ done: r.done, approvedBy: r.approvedBy })),
    );
  });
}

const people = {
  alice: { user: 'alice', groups: ['dev'] },
  bob: { user: 'bob', groups: ['sre'] },
  dave: { user: 'dave', groups: ['security'] },
  frank: { user: 'frank', groups: ['managers'] },
  mallory: { user: 'mallory', groups: ['dev'] },
};
const twoOfSre = requirement({ stages: [stage([group('sre')], 2)], escalateTo: [group('managers')] });
const reviewables: readonly {
  name: string;
  p: ReturnType<typeof pending>;
  who: keyof typeof people;
  now: number;
  want: boolean;
}[] = [
  {
    name: 'an approver of the current stage may review',
    p: pending({ requirements: [twoOfSre] }),
    who: 'bob',
    now: MIN,
    want: true,
  },
  {
    name: 'the requester may not',
    p: pending({ requirements: [twoOfSre] }),
    who: 'alice',
    now: MIN,
    want: false,
  },
  {
    name: 'someone the rules do not name may not',
    p: pending({ requirements: [twoOfSre] }),
    who: 'mallory',
    now: MIN,
    want: false,
  },
  {
    name: 'a reviewer who already approved may not again',
    p: pending({ requirements: [twoOfSre], reviews: [review('bob', ['sre'])] }),
    who: 'bob',
    now: 2 * MIN,
    want: false,
  },
  {
    name: "a later stage's approver waits for the earlier stage",
    p: pending({ requirements: [twoStages] }),
    who: 'dave',
    now: MIN,
    want: false,
  },
  {
    name: "a later stage's approver may review once the earlier stage is done",
    p: pending({ requirements: [twoStages], reviews: [review('bob', ['sre'])] }),
    who: 'dave',
    now: 2 * MIN,
    want: true,
  },
  {
    name: 'an escalateTo approver may review after escalateAt',
    p: pending({ requirements: [twoOfSre], escalateAt: at(5 * MIN) }),
    who: 'frank',
    now: 6 * MIN,
    want: true,
  },
  {
    name: 'an escalateTo approver may not before escalateAt',
    p: pending({ requirements: [twoOfSre], escalateAt: at(5 * MIN) }),
    who: 'frank',
    now: 4 * MIN,
    want: false,
  },
  {
    name: 'nobody may review an expired request',
    p: pending({ requirements: [twoOfSre], expiresAt: at(10 * MIN) }),
    who: 'bob',
    now: 11 * MIN,
    want: false,
  },
  {
    name: 'nobody may review a decided request',
    p: pending({ requirements: [twoOfSre], state: 'approved' }),
    who: 'bob',
    now: MIN,
    want: false,
  },
];
for (const row of reviewables) {
  test(`reviewableBy: ${row.name}`, () => {
    const when = Date.parse(T0) + row.now;
    assert.equal(reviewableBy(row.p, people[row.who], when), row.want);
    assert.equal(eligibility(row.p, people[row.who], new Date(when)) === null, row.want, 'the server agrees');
  });
}

test('shownProgress: a withdrawn, denied or expired request is under review no more', () => {
  const one = { requirements: [twoOfSre, twoStages], reviews: [review('bob', ['sre'])] };
  const shown = (p: ReturnType<typeof pending>): string[] =>
    shownProgress(p).map((r) =>
      r.stages.map((s) => `${s.name}:${s.status}[${s.approvedBy.join(',')}]`).join(' '),
    );
  for (const state of ['withdrawn', 'denied', 'expired'] as const) {
    assert.deepEqual(
      shown(pending({ ...one, state })),
      ['approval:stopped[bob]', 'sre:done[bob] security:stopped[]'],
      state,
    );
  }
  assert.deepEqual(shown(pending(one)), ['approval:current[bob]', 'sre:done[bob] security:current[]']);
});
