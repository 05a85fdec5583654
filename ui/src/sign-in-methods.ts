// The sign-in page's buttons for identity providers, from GET /kubegate/v1/session/methods. Pure.
// Must never send the browser anywhere but kubegate's own start path (the server names it; a
// changed or hostile answer must not turn a button into a link elsewhere), and never carry a
// `next` that leaves the UI (safeNext).
import type { IdentityProviderView } from './api-types.js';
import { safeNext } from './routes.js';

/** One button: its label, where it goes, and why it is off (then href is null). */
export interface ProviderButton {
  readonly name: string;
  readonly href: string | null;
  readonly unavailable: string | null;
}

/** The buttons for `providers`, each returning to `next` after sign-in. */
export function providerButtons(
  providers: readonly IdentityProviderView[],
  next: string,
): readonly ProviderButton[] {
  return providers.map((p) => {
    const start = /^\/kubegate\/v1\/session\/oidc\/start\?issuer=\d{1,4}$/u.test(p.startUrl)
      ? p.startUrl
      : null;
    const unavailable =
      p.unavailable ?? (start === null ? 'kubegate named an unexpected sign-in address for it.' : null);
    return {
      name: p.name,
      href: unavailable === null ? `${start}&next=${encodeURIComponent(safeNext(next))}` : null,
      unavailable,
    };
  });
}
