// /ui/sign-in: the reviewer signs in through their identity provider (a button per provider
// kubegate trusts, from GET /kubegate/v1/session/methods; the browser goes there and comes back
// signed in), or pastes their kubegate token (kg_…) once; either way kubegate answers with a
// session cookie the page cannot read, and the page goes where the user was heading.
// The token lives in this form's state until it is sent, and nowhere else (no storage, no URL).
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api-client.js';
import type { Session, SignInMethods } from '../api-types.js';
import { useApp } from '../app-context.js';
import { ErrorBox } from '../components/notice.js';
import { useTitle } from '../hooks.js';
import { navigate } from '../navigation.js';
import { safeNext } from '../routes.js';
import { providerButtons, type ProviderButton } from '../sign-in-methods.js';

export function SignInView({ search }: { readonly search: string }) {
  const { api, session, signedIn } = useApp();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [providers, setProviders] = useState<readonly ProviderButton[]>([]);
  useTitle('Sign in');
  const next = safeNext(new URLSearchParams(search).get('next'));

  useEffect(() => {
    const abort = new AbortController();
    api.get<SignInMethods>('session/methods', { signal: abort.signal, redirectOnUnauthorized: false }).then(
      (methods) => setProviders(providerButtons(methods.identityProviders, next)),
      // An older kubegate, or none reachable: the token form still works (and says so if not).
      () => undefined,
    );
    return () => abort.abort();
  }, [api, next]);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const value = token.trim();
    if (value === '') {
      setError('Paste your kubegate token first.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const s = await api.post<Session>('session', { token: value }, { redirectOnUnauthorized: false });
      setToken('');
      signedIn(s);
      navigate(next, { replace: true });
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? `${err.message} — check that you pasted the whole kubegate token.`
          : err instanceof Error
            ? err.message
            : 'sign-in failed',
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="sign-in">
      <div class="card sign-in-card">
        <div class="brand brand-large" aria-hidden="true">
          <span class="brand-mark">kg</span> kubegate
        </div>
        <h1>Sign in to review requests</h1>
        {session !== null && (
          <p class="notice notice-info">
            You are signed in as <strong>{session.user}</strong>. Signing in again replaces that session.
          </p>
        )}
        {providers.length > 0 && (
          <div class="sign-in-providers">
            {providers.map((p) =>
              p.href === null ? (
                <div key={p.name}>
                  <button type="button" class="button" disabled data-testid="sign-in-idp" data-idp={p.name}>
                    Sign in with {p.name}
                  </button>
                  <p class="muted" data-testid="sign-in-idp-unavailable">
                    {p.unavailable}
                  </p>
                </div>
              ) : (
                <a
                  key={p.name}
                  class="button button-primary"
                  href={p.href}
                  data-testid="sign-in-idp"
                  data-idp={p.name}
                >
                  Sign in with {p.name}
                </a>
              ),
            )}
            <p class="sign-in-or muted">or use a kubegate token</p>
          </div>
        )}
        <SignInForm
          token={token}
          setToken={setToken}
          busy={busy}
          error={error}
          primary={providers.length === 0}
          submit={submit}
        />
      </div>
    </div>
  );
}

function SignInForm({
  token,
  setToken,
  busy,
  error,
  primary,
  submit,
}: {
  readonly token: string;
  readonly setToken: (token: string) => void;
  readonly busy: boolean;
  readonly error: string | null;
  /** No provider button above: the form is the page's main action. */
  readonly primary: boolean;
  readonly submit: (e: Event) => Promise<void>;
}) {
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <p class="muted">
        Use the kubegate token you use with kubectl (it starts with <code>kg_</code>). The browser keeps only
        a session cookie; the token is not stored.
      </p>
      <label for="token">kubegate token</label>
      <input
        id="token"
        name="token"
        type="password"
        autoComplete="off"
        spellcheck={false}
        autoFocus={primary}
        placeholder="kg_…"
        value={token}
        onInput={(e) => setToken(e.currentTarget.value)}
        data-testid="token"
        aria-invalid={error !== null}
        aria-describedby={error === null ? undefined : 'sign-in-error'}
      />
      {error !== null && (
        <div id="sign-in-error">
          <ErrorBox testId="sign-in-error">{error}</ErrorBox>
        </div>
      )}
      <button
        type="submit"
        class={primary ? 'button button-primary' : 'button'}
        disabled={busy}
        data-testid="sign-in"
      >
        {busy ? 'Signing in…' : primary ? 'Sign in' : 'Sign in with the token'}
      </button>
    </form>
  );
}
