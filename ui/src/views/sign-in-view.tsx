// /ui/sign-in: the reviewer pastes their kubegate token (kg_…) once; kubegate answers with a
// session cookie the page cannot read, and the page goes where the user was heading.
// The token lives in this form's state until it is sent, and nowhere else (no storage, no URL).
import { useState } from 'preact/hooks';
import { ApiError } from '../api-client.js';
import type { Session } from '../api-types.js';
import { useApp } from '../app-context.js';
import { ErrorBox } from '../components/notice.js';
import { useTitle } from '../hooks.js';
import { navigate } from '../navigation.js';
import { safeNext } from '../routes.js';

export function SignInView({ search }: { readonly search: string }) {
  const { api, session, signedIn } = useApp();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useTitle('Sign in');
  const next = safeNext(new URLSearchParams(search).get('next'));

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
      <form class="card sign-in-card" onSubmit={(e) => void submit(e)} noValidate>
        <div class="brand brand-large" aria-hidden="true">
          <span class="brand-mark">kg</span> kubegate
        </div>
        <h1>Sign in to review requests</h1>
        <p class="muted">
          Use the kubegate token you use with kubectl (it starts with <code>kg_</code>). The browser keeps
          only a session cookie; the token is not stored.
        </p>
        {session !== null && (
          <p class="notice notice-info">
            You are signed in as <strong>{session.user}</strong>. Signing in again replaces that session.
          </p>
        )}
        <label for="token">kubegate token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          autoFocus
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
        <button type="submit" class="button button-primary" disabled={busy} data-testid="sign-in">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
