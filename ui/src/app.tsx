// The shell: finds out who is signed in, sends everyone else to sign-in (remembering the page
// they wanted), draws the header, and shows the view the path names. The CSRF token from the
// session goes to the API client and stays in memory.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, createApiClient } from './api-client.js';
import type { Session } from './api-types.js';
import { AppContext, type AppServices } from './app-context.js';
import { Link } from './components/link.js';
import { ErrorBox, Loading } from './components/notice.js';
import { currentPlace, navigate, useLocation } from './navigation.js';
import { SIGN_IN_PATH, matchRoute, signInPath, type Route } from './routes.js';
import { AuditView } from './views/audit-view.js';
import { NotFoundView } from './views/not-found-view.js';
import { PolicyView } from './views/policy-view.js';
import { QueueView } from './views/queue-view.js';
import { RequestView } from './views/request-view.js';
import { SignInView } from './views/sign-in-view.js';

/** The session: undefined while asking, null when signed out. */
type SessionState = Session | null | undefined;

function toSignIn(): void {
  const { pathname, search } = currentPlace();
  if (matchRoute(pathname).name === 'sign-in') return;
  navigate(signInPath(`${pathname}${search}`), { replace: true });
}

export function App() {
  const place = useLocation();
  const route = matchRoute(place.pathname);
  const [session, setSession] = useState<SessionState>(undefined);
  const [bootError, setBootError] = useState<string | null>(null);
  const expired = useRef<() => void>(() => undefined);

  const api = useMemo(
    () =>
      createApiClient({
        fetch: (input, init) => window.fetch(input, init),
        onUnauthorized: () => expired.current(),
      }),
    [],
  );

  expired.current = () => {
    api.setCsrfToken(null);
    setSession(null);
    toSignIn();
  };

  const signedIn = useCallback(
    (s: Session) => {
      api.setCsrfToken(s.csrfToken);
      setSession(s);
    },
    [api],
  );

  useEffect(() => {
    api.get<Session>('session', { redirectOnUnauthorized: false }).then(signedIn, (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) {
        setSession(null);
        toSignIn();
      } else {
        setBootError(err instanceof Error ? err.message : String(err));
      }
    });
  }, [api, signedIn]);

  // Signed out on a page that needs a session (a link opened later, or back after sign-out).
  useEffect(() => {
    if (session === null && route.name !== 'sign-in') toSignIn();
  }, [session, route.name]);

  const signOut = async (): Promise<void> => {
    try {
      await api.del('session');
    } catch {
      // Signed out here whatever the server said: the cookie is HttpOnly, so the server is the
      // one to drop it, and a failed DELETE leaves a session that expires on its own.
    }
    api.setCsrfToken(null);
    setSession(null);
    navigate(SIGN_IN_PATH, { replace: true });
  };

  const services: AppServices = useMemo(
    () => ({ api, session: session ?? null, signedIn }),
    [api, session, signedIn],
  );

  let content;
  if (route.name === 'sign-in') {
    content = <SignInView search={place.search} />;
  } else if (bootError !== null) {
    content = (
      <div class="page">
        <ErrorBox>kubegate could not be asked who you are: {bootError}</ErrorBox>
      </div>
    );
  } else if (session === undefined || session === null) {
    content = (
      <div class="page">
        <Loading what="your session" />
      </div>
    );
  } else {
    content = <View route={route} search={place.search} />;
  }

  return (
    <AppContext.Provider value={services}>
      {route.name !== 'sign-in' && (
        <Header route={route} session={session ?? null} signOut={() => void signOut()} />
      )}
      <main id="main">{content}</main>
    </AppContext.Provider>
  );
}

function View({ route, search }: { readonly route: Route; readonly search: string }) {
  switch (route.name) {
    case 'queue':
      return <QueueView />;
    case 'request':
      return <RequestView key={route.id} id={route.id} />;
    case 'audit':
      return <AuditView search={search} />;
    case 'policy':
      return <PolicyView />;
    case 'sign-in':
    case 'not-found':
      return <NotFoundView />;
  }
}

const NAV: readonly {
  readonly href: string;
  readonly label: string;
  readonly routes: readonly Route['name'][];
}[] = [
  { href: '/ui/', label: 'Queue', routes: ['queue', 'request'] },
  { href: '/ui/audit', label: 'Audit', routes: ['audit'] },
  { href: '/ui/policy', label: 'Policy', routes: ['policy'] },
];

function Header({
  route,
  session,
  signOut,
}: {
  readonly route: Route;
  readonly session: Session | null;
  readonly signOut: () => void;
}) {
  return (
    <header class="topbar">
      <div class="topbar-inner">
        <Link href="/ui/" class="brand" aria-label="kubegate home">
          <span class="brand-mark" aria-hidden="true">
            kg
          </span>
          kubegate
        </Link>
        <nav class="nav" aria-label="Main">
          {NAV.map((item) => {
            const current = item.routes.includes(route.name);
            return (
              <Link
                key={item.href}
                href={item.href}
                class={current ? 'nav-link nav-current' : 'nav-link'}
                aria-current={current ? 'page' : undefined}
                data-testid={`nav-${item.label.toLowerCase()}`}
              >
                {item.label}
              </Link>
            );
          })}
        </nav>
        {session !== null && (
          <div class="user" data-testid="user">
            <span class="user-name" title={`groups: ${session.groups.join(', ') || 'none'}`}>
              <span class="avatar" aria-hidden="true">
                {session.user.slice(0, 1).toUpperCase()}
              </span>
              <span>
                <strong data-testid="user-name">{session.user}</strong>
                {session.groups.length > 0 && <span class="user-groups">{session.groups.join(', ')}</span>}
              </span>
            </span>
            <button
              type="button"
              class="button button-small button-ghost"
              onClick={signOut}
              data-testid="sign-out"
            >
              Sign out
            </button>
          </div>
        )}
      </div>
    </header>
  );
}
