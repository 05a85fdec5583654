// The policy simulator: a request described by hand (method, path, who, the target's labels, a
// body) → POST /kubegate/v1/policy/eval → the decision the gateway would reach, the rules that
// matched, the approvals it would need, and how the path was parsed.
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api-client.js';
import type { PolicyEvaluation } from '../api-types.js';
import { useApp } from '../app-context.js';
import { ActionBadge, DecisionBadge } from '../components/badges.js';
import { ErrorBox } from '../components/notice.js';
import { approverLabel } from '../format.js';
import { METHODS, evalInput, type SimulatorForm, type TargetMode } from '../policy-sim.js';

export function PolicySimulator() {
  const { api, session } = useApp();
  const [form, setForm] = useState<SimulatorForm>(() => ({
    method: 'DELETE',
    path: '/apis/apps/v1/namespaces/prod/statefulsets/db',
    user: session?.user ?? '',
    groups: session?.groups.join(', ') ?? '',
    target: 'none',
    labels: '',
    body: '',
  }));
  const [result, setResult] = useState<PolicyEvaluation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set =
    (key: keyof SimulatorForm) =>
    (e: { currentTarget: { value: string } }): void =>
      setForm((f) => ({ ...f, [key]: e.currentTarget.value }));

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const input = evalInput(form);
    if (!input.ok) {
      setError(input.error);
      setResult(null);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setResult(await api.post<PolicyEvaluation>('policy/eval', input.value));
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) return;
      setResult(null);
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="sim-heading">
      <h2 id="sim-heading">Simulator</h2>
      <p class="muted">What would the policy decide for this request? Nothing is sent to the cluster.</p>
      <form class="sim-form" onSubmit={(e) => void submit(e)} noValidate>
        <div class="field field-narrow">
          <label for="sim-method">Method</label>
          <select id="sim-method" value={form.method} onChange={set('method')} data-testid="sim-method">
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-path">
          <label for="sim-path">Path</label>
          <input
            id="sim-path"
            class="mono"
            value={form.path}
            onInput={set('path')}
            spellcheck={false}
            autoComplete="off"
            placeholder="/apis/apps/v1/namespaces/prod/statefulsets/db"
            data-testid="sim-path"
          />
        </div>
        <div class="field">
          <label for="sim-user">User</label>
          <input
            id="sim-user"
            value={form.user}
            onInput={set('user')}
            autoComplete="off"
            data-testid="sim-user"
          />
        </div>
        <div class="field">
          <label for="sim-groups">Groups (comma-separated)</label>
          <input
            id="sim-groups"
            value={form.groups}
            onInput={set('groups')}
            autoComplete="off"
            data-testid="sim-groups"
          />
        </div>
        <div class="field">
          <label for="sim-target">Target object</label>
          <select
            id="sim-target"
            value={form.target}
            onChange={(e) => setForm((f) => ({ ...f, target: e.currentTarget.value as TargetMode }))}
            data-testid="sim-target"
          >
            <option value="none">none (or not looked up)</option>
            <option value="labels">exists, with these labels</option>
            <option value="unavailable">could not be read</option>
          </select>
        </div>
        <div class="field">
          <label for="sim-labels">Target labels (k=v,k2=v2)</label>
          <input
            id="sim-labels"
            class="mono"
            value={form.labels}
            onInput={(e) => {
              const labels = e.currentTarget.value;
              // Typing labels says the object exists.
              setForm((f) => ({
                ...f,
                labels,
                target: f.target === 'none' && labels.trim() !== '' ? 'labels' : f.target,
              }));
            }}
            disabled={form.target === 'unavailable'}
            spellcheck={false}
            autoComplete="off"
            placeholder="sensitive=true"
            data-testid="sim-labels"
          />
        </div>
        <div class="field field-full">
          <label for="sim-body">Body (JSON; optional)</label>
          <textarea
            id="sim-body"
            class="mono"
            rows={4}
            value={form.body}
            onInput={set('body')}
            spellcheck={false}
            data-testid="sim-body"
          />
        </div>
        <div class="filter-actions">
          <button type="submit" class="button button-primary" disabled={busy} data-testid="simulate">
            {busy ? 'Evaluating…' : 'Evaluate'}
          </button>
        </div>
      </form>
      {error !== null && <ErrorBox testId="sim-error">{error}</ErrorBox>}
      {result !== null && <SimulationResult result={result} />}
    </section>
  );
}

function SimulationResult({ result }: { readonly result: PolicyEvaluation }) {
  const req = result.request;
  return (
    <div class="sim-result" data-testid="sim-result" aria-live="polite">
      <div class="sim-decision-row">
        <span class="muted">Decision</span>
        <DecisionBadge decision={result.decision} testId="sim-decision" />
        {result.message !== null && result.message !== '' && (
          <span class="sim-message">{result.message}</span>
        )}
      </div>
      <div class="sim-grid">
        <div>
          <h3>Matched rules</h3>
          {result.rules.length === 0 ? (
            <p class="muted">
              {result.decision === 'reject'
                ? 'None: the request was refused before the policy.'
                : 'None: the defaults decided.'}
            </p>
          ) : (
            <ul class="rules compact" data-testid="sim-rules">
              {result.rules.map((r) => (
                <li key={r.name}>
                  <span class="mono">{r.name}</span> <ActionBadge action={r.action} />
                </li>
              ))}
            </ul>
          )}
          {result.approval !== null && (
            <>
              <h3>Approvals it would need</h3>
              {result.approval.requirements.map((a, i) => (
                <div key={i} class="requirement">
                  <div class="requirement-head">
                    <span class="mono">{a.rule ?? 'policy defaults'}</span>
                    <span class="requirement-facts muted">
                      {a.mode}
                      {a.escalateAfter !== null &&
                        ` · escalates after ${a.escalateAfter}${a.escalateTo.length > 0 ? ` to ${a.escalateTo.map(approverLabel).join(', ')}` : ''}`}
                      {a.expiresAfter !== null && ` · expires after ${a.expiresAfter}`}
                      {a.grantTTL !== null && ` · grant ${a.grantTTL}`}
                      {a.breakGlass && ' · break-glass allowed'}
                    </span>
                  </div>
                  <ol class="stages">
                    {a.stages.map((s, j) => (
                      <li key={j} class="stage stage-waiting">
                        <span class="stage-mark" aria-hidden="true">
                          {j + 1}
                        </span>
                        <span class="stage-name">{s.name}</span>
                        <span class="stage-need">
                          {s.count} of {s.approvers.map(approverLabel).join(', ')}
                        </span>
                      </li>
                    ))}
                  </ol>
                </div>
              ))}
            </>
          )}
        </div>
        <div>
          <h3>Parsed request</h3>
          {req === null ? (
            <p class="muted">Not parsed.</p>
          ) : (
            <dl class="facts compact" data-testid="sim-request">
              {(
                [
                  ['verb', req.verb],
                  ['apiGroup', req.apiGroup],
                  ['apiVersion', req.apiVersion],
                  ['resource', req.resource],
                  ['subresource', req.subresource],
                  ['namespace', req.namespace],
                  ['name', req.name],
                  ['labelSelector', req.labelSelector],
                  ['fieldSelector', req.fieldSelector],
                ] as const
              ).map(([k, v]) => (
                <Fragment key={k}>
                  <dt>{k}</dt>
                  <dd>{v === '' ? <span class="muted">—</span> : <code>{v}</code>}</dd>
                </Fragment>
              ))}
            </dl>
          )}
        </div>
      </div>
    </div>
  );
}
