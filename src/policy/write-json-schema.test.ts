import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { POLICY_JSON_SCHEMA_PATH, policyJsonSchemaText } from './write-json-schema.js';

// Formatting may differ (the script runs prettier); the content may not.
test('the committed schema/policy.json is what the zod schema generates', async () => {
  const committed: unknown = JSON.parse(await readFile(POLICY_JSON_SCHEMA_PATH, 'utf8'));
  assert.deepEqual(
    committed,
    JSON.parse(policyJsonSchemaText()),
    'schema/policy.json is stale: run `npx tsx src/policy/write-json-schema.ts`',
  );
});
