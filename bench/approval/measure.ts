// What the audit benchmarks share (audit.ts, audit-postgres.ts): a realistic audit event, timed
// durable appends against any AuditTrail, and the quantile of sorted samples. Kept in one place
// so the SQLite and PostgreSQL figures are measured the same way and can be compared.
import { auditEvent } from '../../src/audit/event.js';
import type { AuditEvent, AuditTrail } from '../../src/audit/event.js';

let id = 0;
/** An event shaped like a real `kubectl apply` on a statefulset (about the size the gateway writes). */
export function event(kind: AuditEvent['kind'], verb: string): AuditEvent {
  id += 1;
  return auditEvent(kind, new Date(), {
    requestId: `0f9c2a7e-${id}`,
    user: 'alice@example.com',
    groups: ['dev', 'sre', 'system:authenticated'],
    sourceAddress: '10.0.12.34',
    request: {
      method: verb === 'list' ? 'GET' : 'PATCH',
      target: '/apis/apps/v1/namespaces/payments/statefulsets/ledger?fieldManager=kubectl-client-side-apply',
      verb,
      apiGroup: 'apps',
      apiVersion: 'v1',
      resource: 'statefulsets',
      subresource: null,
      namespace: 'payments',
      name: 'ledger',
      labelSelector: null,
      fieldSelector: null,
      upgrade: null,
      bodyDigest: 'sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
      kubectlCommand: 'kubectl apply',
    },
    decision: 'allow',
    rules: ['payments-team-writes'],
    status: kind === 'forwarded' ? 200 : null,
    latencyMs: kind === 'forwarded' ? 4 : null,
  });
}

export const quantile = (sorted: Float64Array, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

/** Timed durable appends (µs, sorted) from `workers` loops, each awaiting its own append before the next. */
export async function durable(trail: AuditTrail, workers: number, perWorker: number): Promise<Float64Array> {
  const samples = new Float64Array(workers * perWorker);
  let k = 0;
  const worker = async (): Promise<void> => {
    for (let i = 0; i < perWorker; i++) {
      const t0 = process.hrtime.bigint();
      await trail.append(event('decided', 'patch'));
      samples[k++] = Number(process.hrtime.bigint() - t0) / 1000;
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return samples.sort();
}

/** As durable(), but each loop appends until `ms` have passed: for a load of fixed length. */
export async function durableFor(trail: AuditTrail, workers: number, ms: number): Promise<Float64Array> {
  const samples: number[] = [];
  const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  const worker = async (): Promise<void> => {
    for (let t0 = process.hrtime.bigint(); t0 < end; t0 = process.hrtime.bigint()) {
      await trail.append(event('decided', 'patch'));
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return Float64Array.from(samples).sort();
}
