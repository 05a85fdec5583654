// schema/audit-event.schema.json, the documented JSON Schema of the audit event and of an
// exported or shipped line, checked with a JSON Schema 2020-12 validator (ajv): events as the
// stages build them (every field, the optional ones too) and the lines export and the sinks
// write are valid; a changed kind, an extra field, a missing field or a bad hash are not; and the
// schema names every field auditEvent() fills, so a new field cannot ship undocumented.
// (test/e2e/audit-sinks.test.ts validates every line of a real gateway's run the same way.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { withBody } from '../../request/body.js';
import { parseRequest } from '../../request/parse.js';
import { chainHash, GENESIS_HASH, canonicalEvent } from '../chain.js';
import { auditEvent, type AuditEvent } from '../event.js';
import { exportLine } from '../export.js';
import { auditTarget, summarize } from '../record.js';

const AUDIT_EVENT_SCHEMA_PATH = new URL('../../../schema/audit-event.schema.json', import.meta.url);

/** Validators of the event (the schema's root) and of a line ($defs/record). */
function auditSchemaValidators() {
  const schema = JSON.parse(readFileSync(AUDIT_EVENT_SCHEMA_PATH, 'utf8')) as { $id: string };
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addSchema(schema);
  const event = ajv.getSchema(schema.$id);
  const record = ajv.getSchema(`${schema.$id}#/$defs/record`);
  assert.ok(event && record);
  return { event, record };
}

const { event: validEvent, record: validRecord } = auditSchemaValidators();

const request = parseRequest({
  method: 'PATCH',
  target: '/apis/apps/v1/namespaces/prod/deployments/web?fieldManager=kubectl',
  headers: { 'kubectl-command': 'kubectl scale' },
});
const T = new Date('2026-12-01T10:00:00.000Z');

const events: { name: string; event: AuditEvent }[] = [
  { name: 'an event with every field empty', event: auditEvent('refused', T) },
  {
    name: 'a decided request of an AI agent acting for a person',
    event: auditEvent('decided', T, {
      requestId: 'req-0',
      user: 'claude',
      groups: ['agents'],
      agent: true,
      onBehalfOf: 'alice',
      decision: 'allow',
    }),
  },
  {
    name: 'a decided mutation of an OIDC user',
    event: auditEvent('decided', T, {
      requestId: 'req-1',
      user: 'alice',
      groups: ['dev'],
      oidc: { issuer: 'https://idp.example', subject: '1234' },
      sourceAddress: '10.0.0.1',
      request: summarize(
        'PATCH',
        '/apis/apps/v1/namespaces/prod/deployments/web',
        request,
        withBody(request, Buffer.from('{"spec":{}}')),
      ),
      decision: 'approve',
      rules: ['prod-needs-approval'],
    }),
  },
  {
    name: 'a forwarded answer with its latency',
    event: auditEvent('forwarded', T, {
      requestId: 'req-1',
      user: 'alice',
      status: 200,
      latencyMs: 12.5,
      durationMs: 40,
    }),
  },
  {
    name: 'a request a standing approval let through, with its use',
    event: auditEvent('granted', T, {
      pendingId: 'p-1',
      user: 'alice',
      decision: 'approve',
      standing: { scope: 'rule', until: '2026-12-01T11:00:00.000Z', uses: 3 },
    }),
  },
  {
    name: 'a standing approval revoked',
    event: auditEvent('revoked', T, {
      pendingId: 'p-1',
      user: 'alice',
      actor: 'carol',
      decision: 'approve',
      standing: { scope: 'identical', until: '2026-12-01T11:00:00.000Z', uses: 0 },
    }),
  },
  {
    name: 'a break-glass review with a comment',
    event: auditEvent('reviewed', T, {
      pendingId: 'p-1',
      user: 'alice',
      actor: 'alice',
      decision: 'allow',
      comment: 'outage',
      breakGlass: true,
    }),
  },
  {
    name: 'a request whose target was cut, with its digest',
    event: auditEvent('refused', T, {
      request: {
        ...summarize('GET', '/', null, null),
        ...auditTarget(`/api/v1/pods?x=${'a'.repeat(70_000)}`),
      },
      status: 403,
      errorCode: 'KG_POLICY_DENIED',
    }),
  },
];

for (const { name, event } of events) {
  test(`valid: ${name}, and its export line`, () => {
    assert.equal(validEvent(event), true, JSON.stringify(validEvent.errors));
    const canonical = canonicalEvent(event);
    const line = exportLine({
      seq: 1,
      prevHash: GENESIS_HASH,
      hash: chainHash(GENESIS_HASH, 1, canonical),
      canonical,
    });
    assert.equal(validRecord(JSON.parse(line)), true, JSON.stringify(validRecord.errors));
  });
}

const base = auditEvent('decided', T);
const invalid: { name: string; value: unknown; line?: boolean }[] = [
  { name: 'an unknown kind', value: { ...base, kind: 'deleted' } },
  { name: 'a field the schema does not know', value: { ...base, token: 'x' } },
  { name: 'an agent marker other than true', value: { ...base, agent: false } },
  {
    name: 'a standing approval of an unknown scope',
    value: { ...base, standing: { scope: 'namespace', until: '2026-12-01T11:00:00.000Z', uses: 0 } },
  },
  { name: 'a missing field', value: (({ breakGlass: _, ...rest }) => rest)(base) },
  { name: 'a time without milliseconds', value: { ...base, time: '2026-12-01T10:00:00Z' } },
  {
    name: 'a line with a short hash',
    value: { seq: 1, prevHash: GENESIS_HASH, hash: 'abc', event: base },
    line: true,
  },
  {
    name: 'a line with seq 0',
    value: { seq: 0, prevHash: GENESIS_HASH, hash: GENESIS_HASH, event: base },
    line: true,
  },
];

for (const { name, value, line } of invalid) {
  test(`invalid: ${name}`, () => {
    assert.equal((line === true ? validRecord : validEvent)(value), false);
  });
}

test('the schema requires every field auditEvent() fills, and knows the optional ones', () => {
  const schema = JSON.parse(readFileSync(AUDIT_EVENT_SCHEMA_PATH, 'utf8')) as {
    required: string[];
    properties: Record<string, unknown>;
    $defs: { requestSummary: { required: string[]; properties: Record<string, unknown> } };
  };
  assert.deepEqual([...schema.required].sort(), Object.keys(base).sort());
  assert.deepEqual(
    Object.keys(schema.properties).sort(),
    [...Object.keys(base), 'oidc', 'agent', 'onBehalfOf', 'standing'].sort(),
  );
  const summary = summarize('GET', '/', null, null);
  assert.deepEqual([...schema.$defs.requestSummary.required].sort(), Object.keys(summary).sort());
  assert.deepEqual(
    Object.keys(schema.$defs.requestSummary.properties).sort(),
    [...Object.keys(summary), 'targetDigest'].sort(),
  );
});
