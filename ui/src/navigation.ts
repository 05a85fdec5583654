// Client-side navigation over the history API: the one place that calls pushState. Views read
// the location through useLocation and move with navigate or <Link>. The state object may carry
// where to go after sign-in; nothing secret is ever put in history or the URL.
import { useEffect, useState } from 'preact/hooks';

const CHANGE = 'kubegate:navigate';

export interface Place {
  readonly pathname: string;
  readonly search: string;
}

export function currentPlace(): Place {
  return { pathname: window.location.pathname, search: window.location.search };
}

export function navigate(to: string, options: { readonly replace?: boolean } = {}): void {
  const here = `${window.location.pathname}${window.location.search}`;
  if (options.replace === true) window.history.replaceState(null, '', to);
  else if (to !== here) window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(CHANGE));
  if (options.replace !== true) window.scrollTo(0, 0);
}

/** The location, re-rendering on navigate and on back/forward. */
export function useLocation(): Place {
  const [place, setPlace] = useState(currentPlace);
  useEffect(() => {
    const update = (): void => setPlace(currentPlace());
    window.addEventListener(CHANGE, update);
    window.addEventListener('popstate', update);
    return () => {
      window.removeEventListener(CHANGE, update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return place;
}

/** True for a click the page should handle itself (not a new tab, a download or a middle click). */
export function isPlainClick(e: MouseEvent): boolean {
  return e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey && !e.altKey && !e.defaultPrevented;
}
