// The dry-run diff, one line per row, coloured by what the line is. Line numbers are drawn by CSS
// from data attributes of an empty span, so the text (and a copy of it) is the diff alone.
import { useMemo } from 'preact/hooks';
import { classifyDiff, diffStats } from '../diff-lines.js';

export function DiffView({ diff }: { readonly diff: string }) {
  const lines = useMemo(() => classifyDiff(diff), [diff]);
  const stats = diffStats(lines);
  return (
    <div class="diff-box">
      <div class="diff-stats">
        <span class="diff-added">+{stats.added}</span> <span class="diff-removed">−{stats.removed}</span>{' '}
        <span class="muted">lines, live object → dry-run result</span>
      </div>
      <pre class="diff" data-testid="diff">
        {lines.map((line, i) => (
          <span key={i} class={`diff-line diff-${line.kind}`}>
            <span class="diff-ln" data-old={line.oldLine ?? ''} data-new={line.newLine ?? ''} />
            {line.text === '' ? ' ' : line.text}
            {'\n'}
          </span>
        ))}
      </pre>
    </div>
  );
}
