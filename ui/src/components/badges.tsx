// Coloured words for states and decisions: approve is amber, deny red, allow green, throughout.
import type { PendingState } from '../api-types.js';

export function StateBadge({ state, testId }: { readonly state: PendingState; readonly testId?: string }) {
  return (
    <span class={`badge state-${state}`} data-testid={testId} data-state={state}>
      {state}
    </span>
  );
}

export function DecisionBadge({
  decision,
  testId,
}: {
  readonly decision: string | null;
  readonly testId?: string;
}) {
  const value = decision ?? 'none';
  return (
    <span
      class={`badge decision-${value.replace(/[^a-z-]/gu, '')}`}
      data-testid={testId}
      data-decision={value}
    >
      {value}
    </span>
  );
}

/** A rule's action, coloured like the decision it leads to. */
export function ActionBadge({ action }: { readonly action: string }) {
  return <span class={`badge small decision-${action.replace(/[^a-z-]/gu, '')}`}>{action}</span>;
}
