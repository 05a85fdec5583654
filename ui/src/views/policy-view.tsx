// /ui/policy — the active policy (its YAML, file, digest, when it was loaded, its rules, and why
// the last reload failed if it did) and a simulator that asks the server what the policy decides
// for a request described by hand.
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api-client.js';
import type { ApprovalJson, PolicyView as PolicyData } from '../api-types.js';
import { useApp } from '../app-context.js';
import { ActionBadge } from '../components/badges.js';
import { ErrorBox, Loading } from '../components/notice.js';
import { approverLabel, formatRelative, formatTime, shortHash } from '../format.js';
import { useNow, useTitle } from '../hooks.js';
import { PolicySimulator } from './policy-simulator.js';

export function PolicyView() {
  const { api } = useApp();
  const now = useNow();
  const [policy, setPolicy] = useState<PolicyData | null>(null);
  const [error, setError] = useState<string | null>(null);
  useTitle('Policy');

  useEffect(() => {
    const abort = new AbortController();
    api.get<PolicyData>('policy', { signal: abort.signal }).then(setPolicy, (err: unknown) => {
      if (abort.signal.aborted || (err instanceof ApiError && err.unauthorized)) return;
      setError(err instanceof Error ? err.message : String(err));
    });
    return () => abort.abort();
  }, [api]);

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <h1>Policy</h1>
          <p class="muted">The rules kubegate applies to every request, and a simulator to try them.</p>
        </div>
      </div>
      {error !== null && <ErrorBox testId="policy-error">{error}</ErrorBox>}
      {policy === null && error === null && <Loading what="the policy" />}
      {policy !== null && (
        <>
          {policy.lastError !== null && (
            <div class="notice notice-error" role="alert" data-testid="policy-last-error">
              <strong>The last reload failed; the policy below is still in force.</strong>
              <pre class="error-text">{policy.lastError}</pre>
            </div>
          )}
          <section class="card" aria-labelledby="policy-heading">
            <h2 id="policy-heading">Active policy</h2>
            {policy.file === null ? (
              <p class="notice notice-warning" data-testid="no-policy">
                kubegate runs without a policy (policy.file is not set): every request that RBAC allows goes
                through.
              </p>
            ) : (
              <dl class="facts">
                <dt>File</dt>
                <dd>
                  <code class="break" data-testid="policy-file">
                    {policy.file}
                  </code>
                </dd>
                <dt>Loaded</dt>
                <dd>
                  {policy.loadedAt === null ? (
                    <span class="muted">not loaded</span>
                  ) : (
                    <time dateTime={policy.loadedAt}>
                      {formatTime(policy.loadedAt)}{' '}
                      <span class="muted">({formatRelative(policy.loadedAt, now)})</span>
                    </time>
                  )}
                </dd>
                {policy.digest !== null && (
                  <>
                    <dt>Digest</dt>
                    <dd>
                      <code title={policy.digest}>{shortHash(policy.digest, 16)}</code>
                    </dd>
                  </>
                )}
                <dt>Fail closed</dt>
                <dd>
                  {policy.failClosed
                    ? 'yes — the policy could not be loaded, so every request is refused'
                    : 'no — the policy is in force'}
                </dd>
              </dl>
            )}
          </section>
          <section class="card" aria-labelledby="rules-heading">
            <h2 id="rules-heading">
              Rules <span class="count">{policy.rules.length}</span>
            </h2>
            {policy.rules.length === 0 ? (
              <p class="muted">No rules: the defaults decide every request.</p>
            ) : (
              <div class="table-wrap">
                <table class="table" data-testid="policy-rules">
                  <thead>
                    <tr>
                      <th scope="col">Rule</th>
                      <th scope="col">Action</th>
                      <th scope="col">Description</th>
                      <th scope="col">Approvers</th>
                    </tr>
                  </thead>
                  <tbody>
                    {policy.rules.map((rule) => (
                      <tr key={rule.name} data-rule={rule.name}>
                        <td class="mono">{rule.name}</td>
                        <td>
                          <ActionBadge action={rule.action} />
                        </td>
                        <td>
                          {rule.description ?? ''}
                          {rule.message !== null && rule.message !== '' && (
                            <div class="muted small">message: {rule.message}</div>
                          )}
                        </td>
                        <td class="small">{rule.approval === null ? '' : approvalText(rule.approval)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
      <PolicySimulator />
      {policy !== null && (
        <section class="card" aria-labelledby="source-heading">
          <h2 id="source-heading">Source</h2>
          <pre class="source" data-testid="policy-source">
            {policy.source}
          </pre>
        </section>
      )}
    </div>
  );
}

/** "2 of group sre, then 1 of group security". */
function approvalText(approval: ApprovalJson): string {
  return approval.stages
    .map((s) => `${s.count} of ${s.approvers.map(approverLabel).join(', ')}`)
    .join(', then ');
}
