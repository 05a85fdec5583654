// The rules for user and group names that kubegate issues credentials for (`kubegate user add`,
// TokenStore.issue) and accepts from certificates (identify uses nameProblem). They end up as a
// certificate's CN/O or a token's record, and from there in Impersonate-User / Impersonate-Group
// headers. Input: a name and groups. Output: nothing, or KG_CONFIG_INVALID saying what is wrong. Must never accept a name that cannot travel in an HTTP
// header unchanged (control characters, surrounding spaces) or a group that could read as two
// (a comma, where repeated headers are joined).
//
// Names starting with `system:` are allowed, as Kubernetes allows them in certificates: issuing
// `--group system:masters` is an administrator's deliberate choice, and the upstream RBAC that
// kubegate runs under decides whether it may impersonate it.

import { KubegateError } from '../errors.js';

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/u;

/**
 * What is wrong with a user or group name as a header value, or null. Surrounding spaces matter:
 * the receiver strips them from a header, so " alice" would be impersonated as "alice".
 */
export function nameProblem(value: string): string | null {
  if (value === '') return 'must not be empty';
  if (value.trim() !== value) return 'must not start or end with spaces';
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (value.length > 253) return 'must be at most 253 characters';
  return null;
}

export function checkSubject(user: string, groups: readonly string[]): void {
  const userProblem = nameProblem(user);
  if (userProblem !== null) {
    throw new KubegateError('KG_CONFIG_INVALID', `user name ${JSON.stringify(user)} ${userProblem}`);
  }
  for (const group of groups) {
    const groupProblem = group.includes(',') ? 'must not contain a comma' : nameProblem(group);
    if (groupProblem !== null) {
      throw new KubegateError('KG_CONFIG_INVALID', `group ${JSON.stringify(group)} ${groupProblem}`);
    }
  }
}
