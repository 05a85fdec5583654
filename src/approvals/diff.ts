// The reviewer's diff: the live object against what the API server's dry run says it would
// become, as a unified diff of YAML. Part of the reviewer context (context.ts), read by the REST
// API, the CLI and the UI. Input: two objects as the API server returned them (null for "absent":
// a create has no live object, a delete no result). Output: diff text, '' when nothing changes.
//
// Noise is stripped first, from both sides alike: managedFields (server-side apply's bookkeeping,
// often longer than the object), and the counters every write bumps (resourceVersion,
// generation), which would make every diff non-empty without telling the reviewer anything.
// Must never change what the reviewer sees of the object itself: everything else is shown as is,
// including annotations. It does not escape anything for a terminal; whoever prints it does.
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';

/** metadata fields every write changes or that only the API server's machinery reads. */
const NOISE = ['managedFields', 'resourceVersion', 'generation'] as const;

/** Longest diff kept (characters); a longer one is cut at a line end, with a last line saying so. */
export const MAX_DIFF_CHARS = 256 * 1024;

/**
 * Myers' diff costs O((N+M)·D): two large objects that differ everywhere (a ConfigMap replaced
 * whole) took 90 s of the gateway's event loop. Past this many edits, or this many lines on a
 * side, the diff is shown as the whole old object removed and the whole new one added.
 */
const MAX_EDITS = 1_000;
const MAX_LINES = 20_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of `object` without the noise fields in its metadata; anything else is returned as is. */
export function withoutNoise(object: unknown): unknown {
  if (!isRecord(object) || !isRecord(object.metadata)) return object;
  const metadata: Record<string, unknown> = { ...object.metadata };
  for (const field of NOISE) delete metadata[field];
  return { ...object, metadata };
}

/** The object as YAML (keys in the API server's order); '' for an absent object. */
export function objectYaml(object: unknown): string {
  if (object === null || object === undefined) return '';
  return stringify(object, { lineWidth: 0, aliasDuplicateObjects: false });
}

export interface DiffLabels {
  readonly before: string;
  readonly after: string;
}

/**
 * Unified diff (3 lines of context) from `before` to `after`, both stripped of noise; '' when
 * they are the same. null stands for an absent object: the diff then adds or removes it whole.
 */
export function yamlDiff(
  before: unknown,
  after: unknown,
  labels: DiffLabels = { before: 'live', after: 'dry-run' },
): string {
  const a = objectYaml(withoutNoise(before));
  const b = objectYaml(withoutNoise(after));
  if (a === b) return '';
  const patch =
    lineCount(a) > MAX_LINES || lineCount(b) > MAX_LINES
      ? undefined
      : createTwoFilesPatch(labels.before, labels.after, a, b, undefined, undefined, {
          context: 3,
          maxEditLength: MAX_EDITS,
        });
  // jsdiff opens with a line of '=' (an svn-style separator) that unified diff readers do not use.
  const text = patch === undefined ? wholeReplacement(labels, a, b) : patch.replace(/^=+\n/u, '');
  return cut(text);
}

function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** One hunk that removes every line of `a` and adds every line of `b` (both end with '\n'). */
function wholeReplacement(labels: DiffLabels, a: string, b: string): string {
  const lines = (text: string, sign: string): string[] =>
    text === ''
      ? []
      : text
          .slice(0, -1)
          .split('\n')
          .map((l) => sign + l);
  const removed = lines(a, '-');
  const added = lines(b, '+');
  const range = (n: number): string => (n === 0 ? '0,0' : `1,${n}`);
  return [
    `--- ${labels.before}`,
    `+++ ${labels.after}`,
    `@@ -${range(removed.length)} +${range(added.length)} @@`,
    ...removed,
    ...added,
    '',
  ].join('\n');
}

function cut(text: string): string {
  if (text.length <= MAX_DIFF_CHARS) return text;
  const end = text.lastIndexOf('\n', MAX_DIFF_CHARS);
  const kept = text.slice(0, end + 1);
  const dropped = text.slice(end + 1).split('\n').length - 1;
  return `${kept}… (diff cut here: ${dropped} more lines)\n`;
}
