// Kubernetes labels as key=value chips.
export function LabelChips({ labels }: { readonly labels: Readonly<Record<string, string>> }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span class="muted">no labels</span>;
  return (
    <ul class="chips">
      {entries.map(([k, v]) => (
        <li key={k} class="chip mono">
          <span class="chip-key">{k}</span>={v}
        </li>
      ))}
    </ul>
  );
}
