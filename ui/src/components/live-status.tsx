// Whether the page is receiving live updates.
import type { WatchStatus } from '../watch.js';

const TEXT: Readonly<Record<WatchStatus, string>> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
};

export function LiveStatus({ status }: { readonly status: WatchStatus }) {
  return (
    <span class={`live live-${status}`} data-testid="live" title="updates from /kubegate/v1/watch">
      <span class="live-dot" aria-hidden="true" />
      {TEXT[status]}
    </span>
  );
}
