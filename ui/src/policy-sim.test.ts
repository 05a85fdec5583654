import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evalInput, parseGroups, parseLabels, type SimulatorForm } from './policy-sim.js';

test('parseGroups splits on commas, trims and drops blanks and repeats', () => {
  assert.deepEqual(parseGroups(' sre, dev,,sre ,'), ['sre', 'dev']);
  assert.deepEqual(parseGroups(''), []);
});

const labelRows: readonly { name: string; input: string; want: unknown }[] = [
  { name: 'none', input: '', want: { ok: true, value: {} } },
  {
    name: 'two labels',
    input: 'app=db, sensitive=true',
    want: { ok: true, value: { app: 'db', sensitive: 'true' } },
  },
  { name: 'an empty value', input: 'tier=', want: { ok: true, value: { tier: '' } } },
  { name: 'a value with =', input: 'a=b=c', want: { ok: true, value: { a: 'b=c' } } },
  { name: 'no = is refused', input: 'app', want: { ok: false, error: '"app" is not key=value' } },
  { name: 'no key is refused', input: '=x', want: { ok: false, error: '"=x" is not key=value' } },
  {
    name: 'a repeated key is refused',
    input: 'a=1,a=2',
    want: { ok: false, error: 'label "a" is given twice' },
  },
  {
    name: '__proto__ is an ordinary key',
    input: '__proto__=x',
    want: { ok: true, value: { ['__proto__']: 'x' } },
  },
];
for (const row of labelRows) {
  test(`parseLabels: ${row.name}`, () => {
    const got = parseLabels(row.input);
    assert.deepEqual(got.ok ? { ok: true, value: { ...got.value } } : got, row.want);
  });
}

const form: SimulatorForm = {
  method: 'DELETE',
  path: '/apis/apps/v1/namespaces/prod/statefulsets/db',
  user: 'alice',
  groups: 'dev',
  target: 'none',
  labels: '',
  body: '',
};

test('evalInput: without a target object, labels typed earlier are not sent', () => {
  const got = evalInput({ ...form, labels: 'app=db' });
  assert.ok(got.ok);
  assert.equal(got.value.objectLabels, undefined);
});

test('evalInput: an object without labels is sent as {}', () => {
  const got = evalInput({ ...form, target: 'labels' });
  assert.ok(got.ok);
  assert.deepEqual(got.value.objectLabels, {});
});

test('evalInput: an object that could not be read is "unavailable"', () => {
  const got = evalInput({ ...form, target: 'unavailable', labels: 'x' });
  assert.ok(got.ok);
  assert.equal(got.value.objectLabels, 'unavailable');
});

test('evalInput: a plain request leaves out labels and body', () => {
  assert.deepEqual(evalInput(form), {
    ok: true,
    value: {
      method: 'DELETE',
      path: '/apis/apps/v1/namespaces/prod/statefulsets/db',
      user: 'alice',
      groups: ['dev'],
    },
  });
});

test('evalInput: labels and a body are sent', () => {
  const got = evalInput({
    ...form,
    method: 'PATCH',
    target: 'labels',
    labels: 'app=db',
    body: '{"spec":{}}',
  });
  assert.ok(got.ok);
  assert.deepEqual(got.value.objectLabels, { app: 'db' });
  assert.equal(got.value.body, '{"spec":{}}');
});

const bad: readonly { name: string; input: Partial<SimulatorForm>; error: RegExp }[] = [
  { name: 'an unknown method', input: { method: 'TRACE' }, error: /^method must be/u },
  { name: 'a path without a slash', input: { path: 'api/v1/pods' }, error: /^path must start with \//u },
  { name: 'no user', input: { user: ' ' }, error: /^user is needed/u },
  { name: 'bad labels', input: { target: 'labels', labels: 'x' }, error: /^target labels: /u },
];
for (const row of bad) {
  test(`evalInput refuses ${row.name}`, () => {
    const got = evalInput({ ...form, ...row.input });
    assert.equal(got.ok, false);
    if (!got.ok) assert.match(got.error, row.error);
  });
}
