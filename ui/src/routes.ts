// Client-side routes of the reviewer UI. The server answers index.html for every /ui path that is
// not an asset; this module turns the path into the view to show. Pure: no DOM, no history.
// Must never send the user anywhere but a /ui page after sign-in (an open redirect would let a
// link sign someone in and then carry them to a look-alike site).

export const UI_BASE = '/ui';
export const SIGN_IN_PATH = '/ui/sign-in';

export type Route =
  | { readonly name: 'queue' }
  | { readonly name: 'request'; readonly id: string }
  | { readonly name: 'audit' }
  | { readonly name: 'policy' }
  | { readonly name: 'sign-in' }
  | { readonly name: 'not-found' };

/** The route for a location's pathname (the query is the view's business). */
export function matchRoute(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/u, '') : pathname;
  if (path === UI_BASE) return { name: 'queue' };
  if (!path.startsWith(`${UI_BASE}/`)) return { name: 'not-found' };
  const parts = path.slice(UI_BASE.length + 1).split('/');
  const [first, second] = parts;
  if (parts.length === 1) {
    if (first === 'sign-in') return { name: 'sign-in' };
    if (first === 'audit') return { name: 'audit' };
    if (first === 'policy') return { name: 'policy' };
    if (first === 'requests') return { name: 'queue' };
  }
  if (parts.length === 2 && first === 'requests' && second !== undefined && second !== '') {
    const id = decodePart(second);
    if (id !== null) return { name: 'request', id };
  }
  return { name: 'not-found' };
}

function decodePart(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

/** The page of one request. */
export function requestPath(id: string): string {
  return `${UI_BASE}/requests/${encodeURIComponent(id)}`;
}

/**
 * Where to go after sign-in: `next` when it is a path of this UI (not the sign-in page itself),
 * otherwise the queue. Anything that could leave the origin (`//host`, `/\host`, a scheme) or
 * the UI is refused.
 */
export function safeNext(next: string | null | undefined): string {
  const fallback = `${UI_BASE}/`;
  if (next === null || next === undefined || next === '') return fallback;
  if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return fallback;
  // eslint-disable-next-line no-control-regex -- control characters are what is refused here
  if (/[\u0000-\u001f\u007f]/u.test(next)) return fallback;
  let url: URL;
  try {
    url = new URL(next, 'https://kubegate.invalid');
  } catch {
    return fallback;
  }
  if (url.origin !== 'https://kubegate.invalid') return fallback;
  if (url.pathname !== UI_BASE && !url.pathname.startsWith(`${UI_BASE}/`)) return fallback;
  if (matchRoute(url.pathname).name === 'sign-in') return fallback;
  return `${url.pathname}${url.search}`;
}

/** The sign-in page, remembering (in plain sight: a path is no secret) where the user was going. */
export function signInPath(next: string): string {
  const target = safeNext(next);
  return target === `${UI_BASE}/` ? SIGN_IN_PATH : `${SIGN_IN_PATH}?next=${encodeURIComponent(target)}`;
}
