// Table tests for decodeProtobufMetadata over hand-built wire bytes: the envelope and ObjectMeta
// fields kubectl sends, the API server's decoding of repeated fields (last scalar wins, messages
// and maps merge), unknown fields of every wire type skipped, and null for anything truncated,
// overlong or ambiguous.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeProtobufMetadata } from './protobuf-meta.js';
import type { ProtobufMetadata } from './protobuf-meta.js';

// Wire builders: every byte of a fixture is spelled out by these few encoders.
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}
const tag = (field: number, wireType: number): Buffer => varint(field * 8 + wireType);
const bytes = (field: number, ...parts: (Buffer | string)[]): Buffer => {
  const payload = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
  return Buffer.concat([tag(field, 2), varint(payload.length), payload]);
};
const entry = (field: number, key: string, value: string): Buffer =>
  bytes(field, bytes(1, key), bytes(2, value));
const MAGIC = Buffer.from('k8s\0', 'latin1');
const typeMeta = (apiVersion: string, kind: string): Buffer => bytes(1, bytes(1, apiVersion), bytes(2, kind));
/** runtime.Unknown as kubectl frames it: typeMeta, raw, contentEncoding "", contentType "". */
const envelope = (raw: Buffer, tm: Buffer = typeMeta('v1', 'ConfigMap')): Buffer =>
  Buffer.concat([MAGIC, tm, bytes(2, raw), bytes(3), bytes(4)]);

// A ConfigMap as kubectl 1.33 builds it for `create configmap prod-x --from-literal=k=v`:
// ObjectMeta {name}, then data {k: v}.
const configMapRaw = Buffer.concat([bytes(1, bytes(1, 'prod-x')), entry(2, 'k', 'v')]);

interface Row {
  readonly name: string;
  readonly input: Buffer;
  readonly want: ProtobufMetadata | null;
}

const cm = (metadata: ProtobufMetadata['metadata']): ProtobufMetadata => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata,
});

const rows: readonly Row[] = [
  {
    name: 'a configmap create reads apiVersion, kind and the name',
    input: envelope(configMapRaw),
    want: cm({ name: 'prod-x' }),
  },
  {
    name: 'a body kubectl 1.33.1 sent for create configmap probe --from-literal=k=v reads as it was meant',
    // Captured with -v=8 against the test bed. kubectl sends every ObjectMeta string, empty ones
    // included, plus generation 0 and an empty creationTimestamp.
    input: Buffer.from(
      [
        '6b 38 73 00 0a 0f 0a 02 76 31 12 09 43 6f 6e 66 69 67 4d 61 70 12 2c 0a 22 0a 05 70 72 6f 62 65',
        '12 00 1a 0d 70 62 2d 30 39 65 36 36 34 2d 31 33 33 22 00 2a 00 32 00 38 00 42 00 12 06 0a 01 6b',
        '12 01 76 1a 00 22 00',
      ]
        .join(' ')
        .replaceAll(' ', ''),
      'hex',
    ),
    want: cm({ name: 'probe', namespace: 'pb-09e664-133' }),
  },
  {
    name: 'the configmap body spelled out byte by byte reads as the built one',
    input: Buffer.from([
      ...[0x6b, 0x38, 0x73, 0x00], // k8s\0
      ...[0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, ...Buffer.from('ConfigMap')], // typeMeta
      ...[0x12, 0x12], // raw, 18 bytes
      ...[0x0a, 0x08, 0x0a, 0x06, ...Buffer.from('prod-x')], // ObjectMeta { name }
      ...[0x12, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76], // data { k: v }
      ...[0x1a, 0x00, 0x22, 0x00], // contentEncoding "", contentType ""
    ]),
    want: cm({ name: 'prod-x' }),
  },
  {
    name: 'generateName, namespace, labels and annotations are read',
    input: envelope(
      bytes(
        1,
        bytes(2, 'job-'),
        bytes(3, 'team-a'),
        entry(11, 'app', 'web'),
        entry(11, 'tier', 'front'),
        entry(12, 'note', 'hi'),
      ),
      typeMeta('batch/v1', 'Job'),
    ),
    want: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        generateName: 'job-',
        namespace: 'team-a',
        labels: { app: 'web', tier: 'front' },
        annotations: { note: 'hi' },
      },
    },
  },
  {
    name: 'fields of ObjectMeta that policy does not read are skipped, whatever their wire type',
    input: envelope(
      bytes(
        1,
        bytes(5, 'uid-1'), // uid
        Buffer.concat([tag(7, 0), varint(300)]), // generation
        bytes(8, Buffer.concat([tag(1, 0), varint(1_700_000_000)])), // creationTimestamp
        Buffer.concat([tag(9, 1), Buffer.alloc(8, 0xff)]), // a 64-bit field
        Buffer.concat([tag(10, 5), Buffer.alloc(4, 0xff)]), // a 32-bit field
        bytes(1, 'web'),
        bytes(14, 'kubernetes'), // finalizers
      ),
    ),
    want: cm({ name: 'web' }),
  },
  {
    name: 'fields of the object after ObjectMeta are skipped',
    input: envelope(
      Buffer.concat([
        bytes(1, bytes(1, 'web')),
        entry(2, 'k', 'v'),
        entry(3, 'bin', '\u0001'),
        Buffer.concat([tag(4, 0), varint(1)]), // immutable
      ]),
    ),
    want: cm({ name: 'web' }),
  },
  {
    name: 'a later name replaces an earlier one, as in the API server',
    input: envelope(bytes(1, bytes(1, 'allowed'), bytes(1, 'prod-x'))),
    want: cm({ name: 'prod-x' }),
  },
  {
    name: 'a second ObjectMeta merges into the first rather than replacing it',
    input: envelope(
      Buffer.concat([
        bytes(1, bytes(1, 'allowed'), entry(11, 'a', '1'), entry(11, 'b', '1')),
        entry(2, 'k', 'v'),
        bytes(1, bytes(1, 'prod-x'), entry(11, 'b', '2')),
      ]),
    ),
    want: cm({ name: 'prod-x', labels: { a: '1', b: '2' } }),
  },
  {
    name: 'a later name of "" clears the name, as Go keeps no difference between empty and absent',
    input: envelope(bytes(1, bytes(1, 'web'), bytes(1, ''))),
    want: cm({}),
  },
  {
    name: 'a map entry with no value has the empty value',
    input: envelope(bytes(1, bytes(11, bytes(1, 'flag')))),
    want: cm({ labels: { flag: '' } }),
  },
  {
    name: 'a map entry with repeated keys takes the last key',
    input: envelope(bytes(1, bytes(11, bytes(1, 'a'), bytes(2, 'x'), bytes(1, 'b')))),
    want: cm({ labels: { b: 'x' } }),
  },
  {
    name: 'a __proto__ label key is an ordinary key',
    input: envelope(bytes(1, entry(11, '__proto__', 'x'))),
    want: cm({ labels: JSON.parse('{"__proto__":"x"}') as Record<string, string> }),
  },
  {
    name: 'the last raw wins and typeMeta fields merge',
    input: Buffer.concat([
      MAGIC,
      bytes(1, bytes(1, 'v1')),
      bytes(2, bytes(1, bytes(1, 'first'))),
      bytes(1, bytes(2, 'Namespace')),
      bytes(2, bytes(1, bytes(1, 'second'))),
    ]),
    want: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'second' } },
  },
  {
    name: 'non-minimal varints read as their value, as in Go',
    input: Buffer.concat([
      MAGIC,
      Buffer.from([0x8a, 0x00]), // field 1, wire type 2, in two bytes
      Buffer.from([0x84, 0x80, 0x00]), // length 4
      bytes(1, 'v1'),
    ]),
    want: { apiVersion: 'v1', kind: '', metadata: {} },
  },
  {
    name: 'an envelope without raw gives empty metadata',
    input: Buffer.concat([MAGIC, typeMeta('v1', 'ConfigMap')]),
    want: cm({}),
  },
  {
    name: 'unknown envelope fields are skipped',
    input: Buffer.concat([MAGIC, Buffer.concat([tag(9, 0), varint(7)]), bytes(2, bytes(1, bytes(1, 'web')))]),
    want: { apiVersion: '', kind: '', metadata: { name: 'web' } },
  },
  // malformed
  { name: 'an empty body is not protobuf', input: Buffer.alloc(0), want: null },
  { name: 'the magic alone is an empty body', input: MAGIC, want: null },
  {
    name: 'a body without the magic is refused',
    input: Buffer.concat([Buffer.from('k8s\u0001', 'latin1'), bytes(2, configMapRaw)]),
    want: null,
  },
  { name: 'a JSON body is refused', input: Buffer.from('{"kind":"ConfigMap"}'), want: null },
  {
    name: 'a body cut anywhere inside is refused',
    input: envelope(configMapRaw).subarray(0, 20),
    want: null,
  },
  {
    name: 'a length past the end of the message is refused',
    input: Buffer.concat([MAGIC, tag(2, 2), varint(1000), configMapRaw]),
    want: null,
  },
  {
    name: 'a length past the end of raw, but inside the body, is refused',
    input: Buffer.concat([
      MAGIC,
      tag(2, 2),
      varint(4),
      Buffer.from([0x0a, 0x08, 0x0a, 0x06]),
      Buffer.from('prod-x'),
    ]),
    want: null,
  },
  {
    name: 'a varint cut off at the end is refused',
    input: Buffer.concat([MAGIC, Buffer.from([0x08, 0xff])]),
    want: null,
  },
  {
    name: 'a varint of eleven bytes is refused',
    input: Buffer.concat([MAGIC, Buffer.from([0x08]), Buffer.alloc(10, 0xff), Buffer.from([0x01])]),
    want: null,
  },
  {
    name: 'a length of 2^64-1 is refused',
    input: Buffer.concat([MAGIC, Buffer.from([0x12]), Buffer.alloc(9, 0xff), Buffer.from([0x01])]),
    want: null,
  },
  {
    name: 'a truncated 64-bit field is refused',
    input: Buffer.concat([MAGIC, tag(9, 1), Buffer.alloc(7)]),
    want: null,
  },
  {
    name: 'a truncated 32-bit field is refused',
    input: Buffer.concat([MAGIC, tag(9, 5), Buffer.alloc(3)]),
    want: null,
  },
  {
    name: 'a group is refused',
    input: Buffer.concat([MAGIC, tag(9, 3), tag(9, 4), bytes(2, configMapRaw)]),
    want: null,
  },
  {
    name: 'wire types 6 and 7 are refused',
    input: Buffer.concat([MAGIC, tag(9, 6), bytes(2, configMapRaw)]),
    want: null,
  },
  {
    name: 'field number 0 is refused',
    input: Buffer.concat([MAGIC, Buffer.from([0x02, 0x00]), bytes(2, configMapRaw)]),
    want: null,
  },
  {
    name: 'a tag whose field number Go would truncate to name is refused',
    input: envelope(bytes(1, Buffer.concat([tag(2 ** 32 + 1, 2), varint(6), Buffer.from('prod-x')]))),
    want: null,
  },
  {
    name: 'ObjectMeta sent as a varint is refused',
    input: envelope(Buffer.concat([tag(1, 0), varint(5)])),
    want: null,
  },
  {
    name: 'a name sent as a 32-bit field is refused',
    input: envelope(bytes(1, Buffer.concat([tag(1, 5), Buffer.from('prod')]))),
    want: null,
  },
  {
    name: 'a label key sent as a varint, which Go would read as a string, is refused',
    input: envelope(bytes(1, bytes(11, Buffer.concat([tag(1, 0), varint(1), Buffer.from('a')])))),
    want: null,
  },
  {
    name: 'raw sent as a varint is refused',
    input: Buffer.concat([MAGIC, tag(2, 0), varint(1)]),
    want: null,
  },
  {
    name: 'a name that is not UTF-8 is refused',
    input: envelope(bytes(1, bytes(1, Buffer.from([0x70, 0xff, 0x78])))),
    want: null,
  },
  {
    name: 'a malformed field after ObjectMeta in raw is refused',
    input: envelope(Buffer.concat([bytes(1, bytes(1, 'web')), tag(2, 2), varint(50)])),
    want: null,
  },
  {
    name: 'a malformed ObjectMeta field the policy does not read is refused',
    input: envelope(bytes(1, bytes(1, 'web'), Buffer.concat([tag(8, 2), varint(9)]))),
    want: null,
  },
];

for (const row of rows) {
  test(row.name, () => {
    assert.deepEqual(decodeProtobufMetadata(row.input), row.want);
  });
}

test('every truncation of a valid body is refused or reads a prefix of its fields, and never throws', () => {
  const full = envelope(
    bytes(1, bytes(1, 'prod-x'), bytes(3, 'team-a'), entry(11, 'app', 'web'), entry(12, 'a', 'b')),
  );
  const whole = decodeProtobufMetadata(full);
  assert.notEqual(whole, null);
  for (let end = 0; end < full.length; end++) {
    const got = decodeProtobufMetadata(full.subarray(0, end));
    // A cut inside a field is malformed; a cut between the envelope's fields drops whole fields,
    // and raw (the only one carrying metadata) is either all there or absent.
    if (got !== null && Object.keys(got.metadata).length > 0) assert.deepEqual(got, whole);
  }
});

test('arbitrary bytes after the magic never throw and never hang', () => {
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 5000; i++) {
    const noise = Buffer.from(
      Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)),
    );
    const got = decodeProtobufMetadata(Buffer.concat([MAGIC, noise]));
    assert.ok(got === null || typeof got.kind === 'string');
  }
});
