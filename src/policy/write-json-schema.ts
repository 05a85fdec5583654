// Publishes PolicySchema as JSON Schema (schema/policy.json) for editors and CI validators.
// Input: the zod schema. Output: the file text; run as a script, writes schema/policy.json.
// Must never be edited by hand: the unit test fails when the committed file differs from what
// this produces, so run `npx tsx src/policy/write-json-schema.ts` after changing schema.ts.
// Draft-07 because it is the draft editors (yaml-language-server, VS Code) support best.
// Refinements (glob, regex, CEL, selector syntax, cross-field rules) cannot be expressed in
// JSON Schema; `kubegate policy check` reports those.

import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { PolicySchema } from './schema.js';

export const POLICY_JSON_SCHEMA_ID = 'https://kubegate.dev/schema/policy.json';

/** The committed location, relative to this file: <repo>/schema/policy.json. */
export const POLICY_JSON_SCHEMA_PATH = fileURLToPath(new URL('../../schema/policy.json', import.meta.url));

export function policyJsonSchemaText(): string {
  const generated = z.toJSONSchema(PolicySchema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
  });
  const { $schema, ...rest } = generated;
  const schema = { $schema, $id: POLICY_JSON_SCHEMA_ID, title: 'kubegate Policy', ...rest };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/**
 * Writes the file formatted by the repository's prettier settings, so that `prettier --check`
 * passes; the test compares parsed JSON, so formatting never makes it fail.
 */
export async function writePolicyJsonSchema(path: string = POLICY_JSON_SCHEMA_PATH): Promise<void> {
  // prettier is a development dependency, loaded only by this script.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(path)) ?? {};
  await writeFile(path, await prettier.format(policyJsonSchemaText(), { ...options, parser: 'json' }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await writePolicyJsonSchema();
}
