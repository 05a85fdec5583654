// The policy simulator's form, as the eval API takes it: groups and labels typed as text are
// parsed here, and what cannot be sent is said in words before anything is sent. Pure.
import type { PolicyEvalInput } from './api-types.js';

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * What the gateway would find when it looks up the target: nothing (no object, or a request
 * without one), an object with labels, or an object it could not read (rules that look at labels
 * then fail closed).
 */
export type TargetMode = 'none' | 'labels' | 'unavailable';

export interface SimulatorForm {
  readonly method: string;
  readonly path: string;
  readonly user: string;
  /** Comma-separated. */
  readonly groups: string;
  /** The live target object as the gateway would find it. */
  readonly target: TargetMode;
  /** `k=v,k2=v2`, for target 'labels'; empty for an object without labels. */
  readonly labels: string;
  /** The request body as text (JSON); empty for none. */
  readonly body: string;
}

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** `sre, dev,,` → ['sre', 'dev']; duplicates dropped. */
export function parseGroups(text: string): readonly string[] {
  const out: string[] = [];
  for (const part of text.split(',')) {
    const g = part.trim();
    if (g !== '' && !out.includes(g)) out.push(g);
  }
  return out;
}

/** `app=db, sensitive=true` → {app: 'db', sensitive: 'true'}; a value may be empty (`k=`). */
export function parseLabels(text: string): Parsed<Readonly<Record<string, string>>> {
  // A Map, not an object literal: a key like __proto__ is a label like any other.
  const labels = new Map<string, string>();
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return { ok: false, error: `"${item}" is not key=value` };
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (labels.has(key)) return { ok: false, error: `label "${key}" is given twice` };
    labels.set(key, value);
  }
  return { ok: true, value: Object.fromEntries(labels) };
}

/** The POST /kubegate/v1/policy/eval body for the form, or what is wrong with it. */
export function evalInput(form: SimulatorForm): Parsed<PolicyEvalInput> {
  const method = form.method.trim().toUpperCase();
  if (!(METHODS as readonly string[]).includes(method)) {
    return { ok: false, error: `method must be one of ${METHODS.join(', ')}` };
  }
  const path = form.path.trim();
  if (!path.startsWith('/')) {
    return { ok: false, error: 'path must start with / (for example /api/v1/namespaces/default/pods)' };
  }
  const user = form.user.trim();
  if (user === '') return { ok: false, error: 'user is needed: the policy decides for someone' };
  let objectLabels: PolicyEvalInput['objectLabels'];
  if (form.target === 'labels') {
    const labels = parseLabels(form.labels);
    if (!labels.ok) return { ok: false, error: `target labels: ${labels.error}` };
    objectLabels = labels.value;
  } else if (form.target === 'unavailable') {
    objectLabels = 'unavailable';
  }
  return {
    ok: true,
    value: {
      method,
      path,
      user,
      groups: parseGroups(form.groups),
      ...(objectLabels === undefined ? {} : { objectLabels }),
      ...(form.body.trim() === '' ? {} : { body: form.body }),
    },
  };
}
