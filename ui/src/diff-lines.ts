// The dry-run diff as lines a reviewer reads: the server sends one unified diff (YAML, from
// jsdiff), and each line is classified here for colouring, with its old and new line numbers.
// Pure. Inside a hunk the header's counts decide what a line is, not its look: a removed YAML
// document separator `---` arrives as `----` and must not be taken for a file header.

export type DiffLineKind = 'add' | 'del' | 'context' | 'hunk' | 'header' | 'meta';

export interface DiffLine {
  readonly kind: DiffLineKind;
  readonly text: string;
  /** Line number in the live object (del and context lines). */
  readonly oldLine: number | null;
  /** Line number in the dry-run result (add and context lines). */
  readonly newLine: number | null;
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/u;

export function classifyDiff(diff: string): readonly DiffLine[] {
  const text = diff.endsWith('\n') ? diff.slice(0, -1) : diff;
  if (text === '') return [];
  const out: DiffLine[] = [];
  let oldLeft = 0;
  let newLeft = 0;
  let oldNo = 0;
  let newNo = 0;
  const line = (
    kind: DiffLineKind,
    t: string,
    oldLine: number | null = null,
    newLine: number | null = null,
  ) => out.push({ kind, text: t, oldLine, newLine });

  for (const t of text.split('\n')) {
    if (oldLeft > 0 || newLeft > 0) {
      const sign = t[0];
      if (sign === '-' && oldLeft > 0) {
        line('del', t, oldNo++);
        oldLeft--;
        continue;
      }
      if (sign === '+' && newLeft > 0) {
        line('add', t, null, newNo++);
        newLeft--;
        continue;
      }
      if ((sign === ' ' || t === '') && oldLeft > 0 && newLeft > 0) {
        line('context', t, oldNo++, newNo++);
        oldLeft--;
        newLeft--;
        continue;
      }
      // `\ No newline at end of file` and anything unexpected: shown, not counted.
      if (sign !== '\\') {
        oldLeft = 0;
        newLeft = 0;
      } else {
        line('meta', t);
        continue;
      }
    }
    const hunk = HUNK.exec(t);
    if (hunk !== null) {
      oldNo = Number(hunk[1]);
      oldLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      newNo = Number(hunk[3]);
      newLeft = hunk[4] === undefined ? 1 : Number(hunk[4]);
      // An empty side is numbered from the line before it (`-0,0`): the next line is line 1.
      if (oldLeft === 0) oldNo++;
      if (newLeft === 0) newNo++;
      line('hunk', t);
    } else if (t.startsWith('--- ') || t.startsWith('+++ ')) {
      line('header', t);
    } else {
      line('meta', t);
    }
  }
  return out;
}

/** Lines added and removed, for a summary beside the diff. */
export function diffStats(lines: readonly DiffLine[]): { readonly added: number; readonly removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of lines) {
    if (l.kind === 'add') added++;
    else if (l.kind === 'del') removed++;
  }
  return { added, removed };
}
