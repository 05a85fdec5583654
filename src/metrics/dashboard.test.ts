// deploy/grafana/kubegate-dashboard.json stays in step with the metrics: every series a panel
// queries is one kubegate exports (a renamed family would leave an empty panel), and every
// kubegate family has a panel.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { Metrics } from './metrics.js';

interface Dashboard {
  readonly panels: readonly {
    readonly title: string;
    readonly targets: readonly { readonly expr: string }[];
  }[];
}

test('the Grafana dashboard queries only the families kubegate exports, and each of them', async () => {
  const file = resolve(import.meta.dirname, '../../deploy/grafana/kubegate-dashboard.json');
  const dashboard = JSON.parse(await readFile(file, 'utf8')) as Dashboard;
  const families = (await new Metrics().registry.getMetricsAsJSON())
    .map((m) => m.name)
    .filter((name) => !name.startsWith('kubegate_process_') && !name.startsWith('kubegate_nodejs_'));
  const series = new Set<string>();
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      for (const name of target.expr.match(/\bkubegate_\w+/gu) ?? []) series.add(name);
    }
  }
  const known = (name: string): boolean =>
    families.some((f) => name === f || ['_bucket', '_sum', '_count'].some((s) => name === `${f}${s}`));
  assert.deepEqual(
    [...series].filter((name) => !known(name)),
    [],
    'queried but not exported',
  );
  assert.deepEqual(
    families.filter((f) => ![...series].some((name) => name === f || name.startsWith(`${f}_`))),
    [],
    'exported but not on the dashboard',
  );
});
