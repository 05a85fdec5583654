import assert from 'node:assert/strict';
import { test } from 'node:test';
import { providerButtons } from './sign-in-methods.js';

const idp = (startUrl: string, unavailable: string | null = null) => ({
  name: 'login.example.com',
  startUrl,
  unavailable,
});

test('a provider becomes a button to kubegate’s start path that returns to the page the user wanted', () => {
  assert.deepEqual(providerButtons([idp('/kubegate/v1/session/oidc/start?issuer=0')], '/ui/requests/kg-1'), [
    {
      name: 'login.example.com',
      href: '/kubegate/v1/session/oidc/start?issuer=0&next=%2Fui%2Frequests%2Fkg-1',
      unavailable: null,
    },
  ]);
});

test('a next outside the UI returns to the queue instead', () => {
  const [button] = providerButtons([idp('/kubegate/v1/session/oidc/start?issuer=1')], '//evil.example/ui/');
  assert.equal(button?.href, '/kubegate/v1/session/oidc/start?issuer=1&next=%2Fui%2F');
});

test('a provider kubegate cannot use now is shown without a link, with the reason', () => {
  const [button] = providerButtons(
    [idp('/kubegate/v1/session/oidc/start?issuer=0', 'publicUrl is not set')],
    '/ui/',
  );
  assert.equal(button?.href, null);
  assert.equal(button?.unavailable, 'publicUrl is not set');
});

for (const startUrl of [
  'https://evil.example/kubegate/v1/session/oidc/start?issuer=0',
  '//evil.example/kubegate/v1/session/oidc/start?issuer=0',
  '/kubegate/v1/session/oidc/start?issuer=0&next=https://evil.example',
  'javascript:alert(1)',
]) {
  test(`a start address other than kubegate's own is never linked: ${startUrl}`, () => {
    const [button] = providerButtons([idp(startUrl)], '/ui/');
    assert.equal(button?.href, null);
    assert.match(button?.unavailable ?? '', /unexpected/);
  });
}
