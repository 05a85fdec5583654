// Messages to the reader: an error (role=alert) and a plain status line (role=status).
import type { ComponentChildren } from 'preact';

export function ErrorBox({
  children,
  testId,
}: {
  readonly children: ComponentChildren;
  readonly testId?: string;
}) {
  return (
    <div class="notice notice-error" role="alert" data-testid={testId}>
      {children}
    </div>
  );
}

export function Notice({
  children,
  tone = 'info',
}: {
  readonly children: ComponentChildren;
  readonly tone?: 'info' | 'success' | 'warning';
}) {
  return (
    <div class={`notice notice-${tone}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ what }: { readonly what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}
