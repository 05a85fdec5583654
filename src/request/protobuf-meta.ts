// decodeProtobufMetadata: a Kubernetes protobuf request body → its apiVersion, kind and the parts of
// ObjectMeta that policy reads (name, generateName, namespace, labels, annotations).
//
// Place in the pipeline: called by withBody (body.ts) for `application/vnd.kubernetes.protobuf`
// bodies, which kubectl ≥ 1.32 sends for `create <generator>`, `create token` and `auth can-i`.
// Input: the exact body bytes. Output: a partial object, or null when the bytes are not a body the
// API server would decode the same way.
// Wire format (k8s.io/apimachinery runtime/serializer/protobuf): the magic `k8s\0`, then a
// runtime.Unknown { 1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType };
// `raw` is the object's own message, whose field 1 is ObjectMeta in every top-level kind
// { 1 name, 2 generateName, 3 namespace, 11 labels, 12 annotations } (meta/v1 generated.proto),
// maps being repeated entries { 1 key, 2 value }.
// Must never: throw, loop without consuming input, or report a value the API server would read
// differently. Its generated (gogo) decoder lets a later scalar replace an earlier one, merges a
// repeated embedded message into the first, and merges map entries (a later key wins): all
// reproduced here. Anything it would refuse, or that a lenient reader could see two ways (a
// known field with another wire type, groups, field numbers past 32 bits, invalid UTF-8 in a
// string read here), gives null, so that the caller fails closed.

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const FIXED32 = 5;

export interface ProtobufObjectMeta {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ProtobufMetadata {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ProtobufObjectMeta;
}

/** One field of a message: its number, wire type and, for length-delimited fields, the bytes. */
interface Field {
  readonly number: number;
  readonly wireType: number;
  readonly bytes: Buffer | null;
}

/** Thrown inside this module only, for any malformed input; decodeProtobufMetadata maps it to null. */
class Malformed extends Error {}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A base-128 varint of at most 10 bytes, as a number (exact below 2^53; larger only ever compared). */
function readVarint(buf: Buffer, at: { pos: number }): number {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    const b = buf[at.pos];
    if (b === undefined) throw new Malformed();
    at.pos++;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return value;
  }
  throw new Malformed(); // the API server's decoder refuses an 11th byte as an overflow
}

/** The fields of one message, in wire order; every field is checked to fit in `buf`. */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  const at = { pos: 0 };
  while (at.pos < buf.length) {
    const tag = readVarint(buf, at);
    // Go truncates the field number to int32: refuse tags where that would alias another field.
    if (tag >= 2 ** 32) throw new Malformed();
    const number = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (number === 0) throw new Malformed();
    switch (wireType) {
      case VARINT:
        readVarint(buf, at);
        out.push({ number, wireType, bytes: null });
        break;
      case FIXED64:
      case FIXED32: {
        const size = wireType === FIXED64 ? 8 : 4;
        if (buf.length - at.pos < size) throw new Malformed();
        at.pos += size;
        out.push({ number, wireType, bytes: null });
        break;
      }
      case BYTES: {
        const length = readVarint(buf, at);
        if (length > buf.length - at.pos) throw new Malformed();
        out.push({ number, wireType, bytes: buf.subarray(at.pos, at.pos + length) });
        at.pos += length;
        break;
      }
      default:
        throw new Malformed(); // groups (3, 4) and the undefined wire types 6, 7
    }
  }
  return out;
}

/** A known length-delimited field: any other wire type is an error to the API server too. */
function bytesOf(field: Field): Buffer {
  if (field.bytes === null) throw new Malformed();
  return field.bytes;
}

function stringOf(field: Field): string {
  try {
    return strictUtf8.decode(bytesOf(field));
  } catch (err) {
    if (err instanceof Malformed) throw err;
    throw new Malformed();
  }
}

/** JSON.parse semantics: `__proto__` is an ordinary own key, never the prototype. */
function setOwn(map: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A map<string,string> entry into `map`; a missing key or value is "", as in Go. */
function readEntry(entry: Buffer, map: Record<string, string>): void {
  let key = '';
  let value = '';
  for (const f of fields(entry)) {
    // The generated decoder reads fields 1 and 2 of an entry as length-delimited whatever their
    // wire type: any other wire type is refused (stringOf), so that both readings cannot differ.
    if (f.number === 1) key = stringOf(f);
    else if (f.number === 2) value = stringOf(f);
  }
  setOwn(map, key, value);
}

interface MetaAccumulator {
  name: string;
  generateName: string;
  namespace: string;
  labels: Record<string, string> | null;
  annotations: Record<string, string> | null;
}

function readObjectMeta(buf: Buffer, meta: MetaAccumulator): void {
  for (const f of fields(buf)) {
    switch (f.number) {
      case 1:
        meta.name = stringOf(f);
        break;
      case 2:
        meta.generateName = stringOf(f);
        break;
      case 3:
        meta.namespace = stringOf(f);
        break;
      case 11:
        readEntry(bytesOf(f), (meta.labels ??= {}));
        break;
      case 12:
        readEntry(bytesOf(f), (meta.annotations ??= {}));
        break;
      default:
        break;
    }
  }
}

function decode(body: Buffer): ProtobufMetadata {
  if (body.length <= MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) throw new Malformed();
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | null = null;
  for (const f of fields(body.subarray(MAGIC.length))) {
    switch (f.number) {
      case 1:
        for (const t of fields(bytesOf(f))) {
          if (t.number === 1) apiVersion = stringOf(t);
          else if (t.number === 2) kind = stringOf(t);
        }
        break;
      case 2:
        raw = bytesOf(f);
        break;
      case 3:
      case 4:
        bytesOf(f); // contentEncoding, contentType: the API server decodes raw whatever they say
        break;
      default:
        break;
    }
  }
  const meta: MetaAccumulator = {
    name: '',
    generateName: '',
    namespace: '',
    labels: null,
    annotations: null,
  };
  if (raw !== null) {
    for (const f of fields(raw)) if (f.number === 1) readObjectMeta(bytesOf(f), meta);
  }
  // Empty strings and maps are absent in Go's object, as in its JSON form (omitempty).
  const metadata: ProtobufObjectMeta = {
    ...(meta.name === '' ? {} : { name: meta.name }),
    ...(meta.generateName === '' ? {} : { generateName: meta.generateName }),
    ...(meta.namespace === '' ? {} : { namespace: meta.namespace }),
    ...(meta.labels === null ? {} : { labels: meta.labels }),
    ...(meta.annotations === null ? {} : { annotations: meta.annotations }),
  };
  return { apiVersion, kind, metadata };
}

/**
 * Reads apiVersion, kind and ObjectMeta's name, generateName, namespace, labels and annotations
 * from a protobuf request body; null when the body is not well-formed protobuf in the API
 * server's envelope. Nothing else of the object is read.
 */
export function decodeProtobufMetadata(body: Buffer): ProtobufMetadata | null {
  try {
    return decode(body);
  } catch (err) {
    if (err instanceof Malformed) return null;
    throw err;
  }
}
