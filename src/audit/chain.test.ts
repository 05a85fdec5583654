// The hash chain: canonical text is stable, and verifyChain names the first bad seq and the kind
// of tampering for each way a stored chain can be changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditEvent } from './event.js';
import type { AuditEvent } from './event.js';
import { canonicalEvent, canonicalize, chainHash, GENESIS_HASH, verifyChain } from './chain.js';
import type { ChainAnchor, ChainHead, ChainProblem, StoredAuditRecord, VerifyOptions } from './chain.js';

function event(i: number): AuditEvent {
  return auditEvent('decided', new Date(Date.UTC(2026, 0, 1, 0, 0, i)), {
    requestId: `req-${i}`,
    user: i % 2 === 0 ? 'alice' : 'bob',
    groups: ['dev'],
    decision: 'allow',
    rules: ['reads-are-free'],
  });
}

/** A well-formed chain of n records, as the trail writes it. */
function chain(n: number): StoredAuditRecord[] {
  const out: StoredAuditRecord[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const canonical = canonicalEvent(event(seq));
    const hash = chainHash(prevHash, seq, canonical);
    out.push({ seq, canonical, prevHash, hash });
    prevHash = hash;
  }
  return out;
}

/** Re-hashes records from index `from` on, as someone covering their tracks would. */
function rehash(records: StoredAuditRecord[], from: number): StoredAuditRecord[] {
  const out = records.slice(0, from);
  let prevHash = from === 0 ? GENESIS_HASH : (records[from - 1] as StoredAuditRecord).hash;
  for (const r of records.slice(from)) {
    const hash = chainHash(prevHash, r.seq, r.canonical);
    out.push({ ...r, prevHash, hash });
    prevHash = hash;
  }
  return out;
}

const at = (records: StoredAuditRecord[], seq: number): StoredAuditRecord =>
  records.find((r) => r.seq === seq) as StoredAuditRecord;
const headOf = (records: StoredAuditRecord[]): ChainHead => {
  const last = records[records.length - 1] as StoredAuditRecord;
  return { seq: last.seq, hash: last.hash };
};
/** The head at `seq` of `records`, as `kubegate audit head` saved it at minute `seq`. */
const savedAt = (records: StoredAuditRecord[], seq: number): ChainAnchor => ({
  seq,
  hash: at(records, seq).hash,
  time: new Date(Date.UTC(2026, 0, 1, 9, seq)).toISOString(),
});
/** Records 1–7 of `original`, and three records written after them as if nothing had been cut. */
const cutAndContinued = (): StoredAuditRecord[] =>
  rehash(
    [
      ...chain(7),
      ...chain(10)
        .slice(7)
        .map((r) => ({ ...r, canonical: edit(r).canonical })),
    ],
    7,
  );
const edit = (r: StoredAuditRecord): StoredAuditRecord => ({
  ...r,
  canonical: r.canonical.replace('"decision":"allow"', '"decision":"deny"'),
});

interface Row {
  readonly name: string;
  readonly records: () => StoredAuditRecord[];
  /** original: chain(10) as written; records: what is stored now (row.records()). */
  readonly options?: (original: StoredAuditRecord[], records: StoredAuditRecord[]) => VerifyOptions;
  readonly want:
    | { readonly ok: true; readonly count: number }
    | { readonly seq: number; readonly problem: ChainProblem; readonly count: number };
}

const rows: readonly Row[] = [
  { name: 'an untouched chain verifies', records: () => chain(10), want: { ok: true, count: 10 } },
  { name: 'an empty chain verifies', records: () => [], want: { ok: true, count: 0 } },
  {
    name: 'an untouched chain verifies against its recorded head',
    records: () => chain(10),
    options: (o) => ({ head: headOf(o) }),
    want: { ok: true, count: 10 },
  },
  {
    name: 'a record whose text was edited is reported as edited at its seq',
    records: () => chain(10).map((r) => (r.seq === 4 ? edit(r) : r)),
    want: { seq: 4, problem: 'edited', count: 3 },
  },
  {
    name: 'a record whose stored hash was replaced is reported as edited',
    records: () => chain(10).map((r) => (r.seq === 6 ? { ...r, hash: 'f'.repeat(64) } : r)),
    want: { seq: 6, problem: 'edited', count: 5 },
  },
  {
    name: 'a record edited and its hash recomputed breaks the link of the next record',
    records: () =>
      chain(10).map((r) =>
        r.seq === 4 ? { ...edit(r), hash: chainHash(r.prevHash, 4, edit(r).canonical) } : r,
      ),
    want: { seq: 5, problem: 'broken-link', count: 4 },
  },
  {
    name: 'a tail rewritten from an edit on is caught only by the recorded head, at its last seq',
    records: () => {
      const records = chain(10);
      records[3] = edit(records[3] as StoredAuditRecord);
      return rehash(records, 3);
    },
    options: (o) => ({ head: headOf(o) }),
    want: { seq: 10, problem: 'edited', count: 10 },
  },
  {
    name: 'a deleted record leaves a gap reported at the next seq',
    records: () => chain(10).filter((r) => r.seq !== 5),
    want: { seq: 6, problem: 'deleted', count: 4 },
  },
  {
    name: 'deleted first records leave a gap before the first stored seq',
    records: () => chain(10).filter((r) => r.seq > 2),
    want: { seq: 3, problem: 'deleted', count: 0 },
  },
  {
    name: 'a deleted record with later records renumbered is reported as deleted',
    records: () =>
      chain(10)
        .filter((r) => r.seq !== 5)
        .map((r) => (r.seq > 5 ? { ...r, seq: r.seq - 1 } : r)),
    want: { seq: 5, problem: 'deleted', count: 4 },
  },
  {
    name: 'a cut tail is reported as deleted against the recorded head',
    records: () => chain(10).filter((r) => r.seq <= 7),
    options: (o) => ({ head: headOf(o) }),
    want: { seq: 8, problem: 'deleted', count: 7 },
  },
  {
    name: 'a record appended past the recorded head is a broken link',
    records: () => chain(10),
    options: (o) => ({ head: headOf(o.slice(0, 9)) }),
    want: { seq: 10, problem: 'broken-link', count: 10 },
  },
  {
    name: 'two swapped records are reported as reordered at the first',
    records: () => {
      const o = chain(10);
      return o.map((r) =>
        r.seq === 3 ? { ...at(o, 7), seq: 3 } : r.seq === 7 ? { ...at(o, 3), seq: 7 } : r,
      );
    },
    want: { seq: 3, problem: 'reordered', count: 2 },
  },
  {
    name: 'two adjacent swapped records are reported as reordered',
    records: () => {
      const o = chain(10);
      return o.map((r) =>
        r.seq === 5 ? { ...at(o, 6), seq: 5 } : r.seq === 6 ? { ...at(o, 5), seq: 6 } : r,
      );
    },
    want: { seq: 5, problem: 'reordered', count: 4 },
  },
  {
    name: 'two records whose texts alone were swapped are reported as reordered',
    records: () => {
      const o = chain(10);
      return o.map((r) =>
        r.seq === 2
          ? { ...r, canonical: at(o, 8).canonical }
          : r.seq === 8
            ? { ...r, canonical: at(o, 2).canonical }
            : r,
      );
    },
    want: { seq: 2, problem: 'reordered', count: 1 },
  },
  {
    name: 'a record given before its predecessor shows as a gap at its seq',
    records: () => {
      const o = chain(5);
      return [o[0], o[1], o[3], o[2], o[4]] as StoredAuditRecord[];
    },
    want: { seq: 4, problem: 'deleted', count: 2 },
  },
  {
    name: 'a seq repeated is reported as reordered',
    records: () => {
      const o = chain(5);
      return [o[0], o[1], o[1], o[2]] as StoredAuditRecord[];
    },
    want: { seq: 2, problem: 'reordered', count: 2 },
  },
  {
    name: 'a record whose link alone was edited is a broken link',
    records: () =>
      rehash(chain(10), 0).map((r) =>
        r.seq === 9 ? { ...r, prevHash: 'a'.repeat(64), hash: chainHash('a'.repeat(64), 9, r.canonical) } : r,
      ),
    want: { seq: 9, problem: 'broken-link', count: 8 },
  },
  // What only a head saved outside the database shows: whoever can write the records can write
  // the recorded head beside them.
  {
    name: 'a cut tail with the recorded head rewritten to match verifies against that head alone',
    records: () => chain(10).filter((r) => r.seq <= 7),
    options: (_, r) => ({ head: headOf(r) }),
    want: { ok: true, count: 7 },
  },
  {
    name: 'the same cut is reported as deleted, at the first missing seq, against a head saved before it',
    records: () => chain(10).filter((r) => r.seq <= 7),
    options: (o, r) => ({ head: headOf(r), anchors: [savedAt(o, 10)] }),
    want: { seq: 8, problem: 'deleted', count: 7 },
  },
  {
    name: 'the same cut passes against a head saved before the cut records were written',
    records: () => chain(10).filter((r) => r.seq <= 7),
    options: (o, r) => ({ head: headOf(r), anchors: [savedAt(o, 5)] }),
    want: { ok: true, count: 7 },
  },
  {
    name: 'a cut chain with no record left is deleted from seq 1 against a saved head',
    records: () => [],
    options: (o) => ({ head: null, anchors: [savedAt(o, 3)] }),
    want: { seq: 1, problem: 'deleted', count: 0 },
  },
  {
    name: 'a tail rewritten from an edit on, recorded head too, is reported as rewritten at the saved seq',
    records: () => {
      const records = chain(10);
      records[3] = edit(records[3] as StoredAuditRecord);
      return rehash(records, 3);
    },
    options: (o, r) => ({ head: headOf(r), anchors: [savedAt(o, 10)] }),
    want: { seq: 10, problem: 'rewritten', count: 0 },
  },
  {
    name: 'a rewritten tail passes against a head saved before the rewritten record',
    records: () => {
      const records = chain(10);
      records[3] = edit(records[3] as StoredAuditRecord);
      return rehash(records, 3);
    },
    options: (o, r) => ({ head: headOf(r), anchors: [savedAt(o, 3)] }),
    want: { ok: true, count: 10 },
  },
  {
    name: 'a cut tail continued with new records is reported as rewritten at the saved seq',
    records: cutAndContinued,
    options: (o, r) => ({ head: headOf(r), anchors: [savedAt(o, 2), savedAt(o, 9)] }),
    want: { seq: 9, problem: 'rewritten', count: 2 },
  },
  {
    name: 'saved heads in any order, each still in the chain, pass',
    records: () => chain(10),
    options: (o) => ({
      head: headOf(o),
      anchors: [savedAt(o, 9), savedAt(o, 2), savedAt(o, 10), savedAt(o, 2)],
    }),
    want: { ok: true, count: 10 },
  },
  {
    name: 'two saved heads for one seq that disagree cannot both hold: one is reported',
    records: () => chain(10),
    options: (o) => ({ anchors: [savedAt(o, 4), { ...savedAt(o, 4), hash: 'e'.repeat(64) }] }),
    want: { seq: 4, problem: 'rewritten', count: 0 },
  },
  {
    name: 'a record the store check refuses is reported as edited',
    records: () => chain(10),
    options: () => ({ check: (r) => (r.seq === 7 ? 'the user column disagrees with the record' : null) }),
    want: { seq: 7, problem: 'edited', count: 6 },
  },
];

for (const row of rows) {
  test(row.name, () => {
    const original = chain(10);
    const records = row.records();
    const got = verifyChain(records, row.options?.(original, records));
    if ('ok' in row.want) {
      assert.equal(got.ok, true, JSON.stringify(got));
      assert.equal(got.count, row.want.count);
    } else {
      assert.equal(got.ok, false);
      assert.deepEqual(
        { seq: got.ok ? null : got.seq, problem: got.ok ? null : got.problem, count: got.count },
        row.want,
      );
    }
  });
}

test('a cut against a saved head says which seqs are missing and that the recorded head was rewritten', () => {
  const original = chain(10);
  const cut = original.slice(0, 7);
  assert.deepEqual(verifyChain(cut, { head: headOf(cut), anchors: [savedAt(original, 10)] }), {
    ok: false,
    count: 7,
    seq: 8,
    problem: 'deleted',
    detail:
      'seqs 8–10 at the end are missing: the head saved at 2026-01-01T09:10:00.000Z names seq 10, so records were cut from the end and the recorded head rewritten to match',
  });
});

test('a rewrite against saved heads names the seqs it lies in, after the last saved head that matched', () => {
  const original = chain(10);
  const anchors = [savedAt(original, 6), savedAt(original, 9)];
  const got = (records: StoredAuditRecord[]): string => {
    const result = verifyChain(records, { head: headOf(records), anchors });
    return result.ok ? 'ok' : `${result.seq} ${result.problem}: ${result.detail}`;
  };
  const prefix = `9 rewritten: its hash differs from the head saved at 2026-01-01T09:09:00.000Z (${at(original, 9).hash.slice(0, 12)}…)`;
  assert.equal(
    got(cutAndContinued()),
    `${prefix}: a record in seqs 7–9 (seq 6 still matches an earlier saved head) was replaced or deleted, and the chain rebuilt after it`,
  );
  const fromNine = original.map((r) => (r.seq === 9 ? edit(r) : r));
  assert.equal(
    got(rehash(fromNine, 8)),
    `${prefix}: a record in seqs 7–9 (seq 6 still matches an earlier saved head) was replaced or deleted, and the chain rebuilt after it`,
  );
  const result = verifyChain(rehash(fromNine, 8), { anchors: [savedAt(original, 8), savedAt(original, 9)] });
  assert.equal(
    result.ok ? 'ok' : result.detail,
    `its hash differs from the head saved at 2026-01-01T09:09:00.000Z (${at(original, 9).hash.slice(0, 12)}…): it was replaced, and the chain rebuilt after it`,
  );
  const alone = verifyChain(rehash(fromNine, 8), { anchors: [savedAt(original, 9)] });
  assert.match(
    alone.ok ? 'ok' : alone.detail,
    /: it or a record before it was replaced or deleted, and the chain rebuilt after it$/u,
  );
});

test('verifyChain returns the last seq and hash as the head of an intact chain', () => {
  const records = chain(3);
  assert.deepEqual(verifyChain(records), { ok: true, count: 3, head: headOf(records) });
});

test('verifyChain reads records one at a time and stops at the first bad one', () => {
  let read = 0;
  function* stream(): Generator<StoredAuditRecord> {
    for (const r of chain(1000)) {
      read += 1;
      yield r.seq === 10 ? edit(r) : r;
      if (r.seq === 10) break;
    }
  }
  const got = verifyChain(stream());
  assert.equal(got.ok, false);
  assert.equal(read, 10);
});

const canonicalRows = [
  {
    name: 'keys are sorted and there is no whitespace',
    input: { b: 1, a: [true, null], c: { y: 'x', x: 'y' } },
    want: '{"a":[true,null],"b":1,"c":{"x":"y","y":"x"}}',
  },
  { name: 'undefined members are left out', input: { a: undefined, b: 'v' }, want: '{"b":"v"}' },
  {
    name: 'strings are escaped as JSON',
    input: { s: 'line\n"q"\u0001é' },
    want: '{"s":"line\\n\\"q\\"\\u0001é"}',
  },
  {
    name: 'keys sort by code unit, uppercase first',
    input: { b: 0, B: 0, a: 0 },
    want: '{"B":0,"a":0,"b":0}',
  },
] as const;

for (const row of canonicalRows) {
  test(`canonicalize: ${row.name}`, () => {
    assert.equal(canonicalize(row.input), row.want);
  });
}

test('canonicalize refuses numbers JSON cannot hold', () => {
  assert.throws(() => canonicalize({ latencyMs: Number.NaN }), TypeError);
});

test('an event canonicalized, parsed and canonicalized again gives the same text', () => {
  const text = canonicalEvent(event(1));
  assert.equal(canonicalize(JSON.parse(text)), text);
});

test('chainHash depends on the previous hash, the seq and the text', () => {
  const base = chainHash(GENESIS_HASH, 1, '{}');
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.notEqual(chainHash('1'.repeat(64), 1, '{}'), base);
  assert.notEqual(chainHash(GENESIS_HASH, 2, '{}'), base);
  assert.notEqual(chainHash(GENESIS_HASH, 1, '{ }'), base);
});
