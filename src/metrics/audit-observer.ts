// The audit trail, observed: every record this replica writes counts in the metrics (requests by
// verb, resource, decision and code; appends by mode; the durable append's time; refusals), so
// the request counts are the trail's own, by construction. Input/output: an AuditTrail. Must
// never change what the trail does: an append's outcome and errors pass through untouched.
import type { AuditEvent, AuditTrail } from '../audit/event.js';
import type { Metrics } from './metrics.js';

export function observedTrail(trail: AuditTrail, metrics: Metrics): AuditTrail {
  return {
    async append(event: AuditEvent) {
      const started = performance.now();
      try {
        await trail.append(event);
      } catch (err) {
        metrics.auditFailures.inc({ mode: 'durable' });
        throw err;
      }
      metrics.auditDurableSeconds.observe((performance.now() - started) / 1000);
      metrics.auditAppends.inc({ mode: 'durable' });
      metrics.recorded(event);
    },
    appendLater(event: AuditEvent) {
      trail.appendLater(event);
      metrics.auditAppends.inc({ mode: 'batched' });
      metrics.recorded(event);
    },
    close: () => trail.close(),
  };
}
