// The reviewer context: what a reviewer sees before approving a held request (DESIGN.md,
// "Approvals": reviewers see what they approve). Runs beside hold, once per pending request.
// Input: the HoldRequest (identity, parsed request, exact body bytes). Output: ReviewerContext —
//   - create/update/patch/delete of what is known to honour dryRun (dry-run-allow-list.ts): a
//     server-side dry run of the exact request AS THE REQUESTER (impersonated; same method, path,
//     query and body, plus dryRun=All), the live object (GET as the requester) and a YAML diff
//     between the two (a delete removes the live object whole); anything else: a note saying why
//     there is no dry run, and nothing sent;
//   - deletecollection: the objects it would delete (listed with its selectors, as the requester);
//   - exec/attach: the command and container;
//   - every request naming an object: the live object's labels, read as kubegate itself (the
//     labels the policy judged; live-objects.ts).
// Every failure (refused, timed out, unreadable) becomes a note; it never throws, and the whole
// of it is bounded by timeoutMs. Credentials (Secret data, tokens, kubeconfig content) are
// replaced by markers (redact.ts) before the diff is made and before anything is returned: the
// context is stored, listed to reviewers and streamed to them.
//
// Must never let a mutation take effect. dryRun=All only binds handlers that honour it: the
// TokenRequest handler (serviceaccounts/token) ignores it and signs a real token, so only what
// dry-run-allow-list.ts allows is sent at all. The API server reads dryRun from the query for
// create, update and patch, but for a DELETE with a body it reads DeleteOptions from the body
// alone and ignores the query: so dryRun=All goes into the query of every dry run AND into the
// JSON body of a DELETE (built from the query's options when the request had none); a DELETE
// body that is not a JSON object is not sent at all. Connect subresources (exec, attach,
// portforward, proxy) are never sent: they are not mutations and dryRun means nothing to them.
// The requests go as the requester through upstream/as-requester.ts (the only way this module
// reaches the API server), so the requester's own RBAC decides what the dry run may see and do.
import { describeFailure } from '../errors.js';
import type { Upstream } from '../upstream/pool.js';
import type { LiveObjects } from '../upstream/live-objects.js';
import { asRequester, type Answer, type AsRequester } from '../upstream/as-requester.js';
import { CONNECT_SUBRESOURCES, isProxy, targetRef } from '../request/target.js';
import type { KubeRequest } from '../request/types.js';
import { withBody } from '../request/body.js';
import { withoutNoise, yamlDiff } from './diff.js';
import { mayDryRun } from './dry-run-allow-list.js';
import { createRedactor, redactContext } from './redact.js';
import type { HoldRequest, ReviewerContext } from './types.js';

export interface ReviewerContextDeps {
  readonly upstream: Upstream;
  /** kubegate's own reads (labels of the target, as the policy saw them). */
  readonly liveObjects: Pick<LiveObjects, 'get'>;
  /** Budget for the whole context; what is not back by then becomes a note. */
  readonly timeoutMs: number;
}

const MUTATIONS = new Set(['create', 'update', 'patch', 'delete']);
/** The objects a deletecollection would delete that are listed for the reviewer. */
export const MAX_LISTED_OBJECTS = 1_000;
const PAGE_SIZE = 500;
/** API server messages quoted in notes are cut here. */
const MAX_MESSAGE = 300;

type Json = Record<string, unknown>;

/** What one part found: a value, or null with the notes saying why. */
interface Part<T> {
  readonly value: T | null;
  readonly notes: readonly string[];
}

export async function buildReviewerContext(
  deps: ReviewerContextDeps,
  input: HoldRequest,
): Promise<ReviewerContext> {
  const { request } = input;
  const signal = AbortSignal.timeout(deps.timeoutMs);
  const requester = asRequester(deps.upstream, input, signal);
  const connect = CONNECT_SUBRESOURCES.has(request.subresource) || isProxy(request);
  const mutation = request.isResourceRequest && MUTATIONS.has(request.verb) && !connect;

  const [[dryRunFound, liveFound], labels, objects] = await Promise.all([
    mutation ? gatedParts(deps, input, requester, signal) : Promise.all([none<DryRun>(), none<LiveState>()]),
    labelsPart(deps, request, signal),
    request.verb === 'deletecollection' ? objectsPart(request, requester) : none<string[]>(),
  ]);
  // One redactor for both sides, so that an unchanged credential shows the same marker in both.
  const redactor = createRedactor();
  const dryRun: Part<DryRun> =
    dryRunFound.value === null
      ? dryRunFound
      : {
          ...dryRunFound,
          value: { ...dryRunFound.value, object: redactor.object(dryRunFound.value.object, request) },
        };
  const live: Part<LiveState> =
    liveFound.value?.object == null
      ? liveFound
      : { ...liveFound, value: { object: redactor.object(liveFound.value.object, request) as Json } };

  const notes = [...dryRun.notes, ...live.notes, ...labels.notes, ...objects.notes];
  let targetLabels = labels.value;
  // A create names no existing object: the requester's GET (by the body's name) says if one is there.
  if (targetLabels === null && live.value?.object) targetLabels = labelsOf(live.value.object);

  // Eviction and other creates of a subresource act on an object without producing a new one.
  const diffable = mutation && !(request.verb === 'create' && request.subresource !== '');
  let diff: string | null = null;
  if (diffable && dryRun.value?.ok === true) {
    if (live.value === null) notes.push('no diff: the live object could not be read');
    else if (request.verb === 'delete') {
      if (live.value.object !== null) diff = yamlDiff(live.value.object, null);
    } else diff = yamlDiff(live.value.object, dryRun.value.object);
  }

  const exec =
    request.subresource === 'exec' || request.subresource === 'attach'
      ? {
          command: request.subresource === 'exec' ? [...(request.query.command ?? [])] : [],
          container: request.query.container?.[0] ?? '',
        }
      : null;

  return redactContext(
    {
      targetLabels,
      dryRun:
        dryRun.value === null
          ? null
          : { status: dryRun.value.status, object: dryRun.value.object, message: dryRun.value.message },
      diff,
      objects: objects.value,
      exec,
      notes,
    },
    request,
    redactor,
  );
}

function none<T>(): Promise<Part<T>> {
  return Promise.resolve({ value: null, notes: [] });
}

// ---- dry run ---------------------------------------------------------------------------------

interface DryRun {
  readonly ok: boolean;
  readonly status: number;
  readonly object: unknown;
  readonly message: string | null;
}

/**
 * The dry run and the live object, when the allow-list says the API server honours dryRun for
 * this request; otherwise a note, and nothing is sent as the requester (not even the read of the
 * live object: a server kubegate does not know is asked nothing).
 */
async function gatedParts(
  deps: ReviewerContextDeps,
  input: HoldRequest,
  requester: AsRequester,
  signal: AbortSignal,
): Promise<[Part<DryRun>, Part<LiveState>]> {
  const without = (note: string): [Part<DryRun>, Part<LiveState>] => [
    { value: null, notes: [note] },
    { value: null, notes: [] },
  ];
  let verdict;
  try {
    verdict = await withSignal(mayDryRun(input.request, deps.liveObjects), signal);
  } catch (err) {
    return without(`no dry run: kubegate could not check that it is safe (${failure(err)})`);
  }
  if (!verdict.ok) return without(`no dry run: ${verdict.why}`);
  return Promise.all([dryRunPart(input, requester), livePart(input, requester)]);
}

async function dryRunPart(input: HoldRequest, requester: AsRequester): Promise<Part<DryRun>> {
  const { request } = input;
  let body: Buffer | string | null = input.bodyBytes;
  let contentType: string | null = request.contentType === '' ? null : request.contentType;
  if (request.verb === 'delete') {
    const options = dryRunDeleteOptions(input);
    if (typeof options !== 'object') return { value: null, notes: [`no dry run: ${options}`] };
    body = JSON.stringify(options);
    contentType = 'application/json';
  }
  try {
    // dryRun=All first in the query (as-requester.ts), and in a DELETE's body.
    const answer = await requester.dryRun(request, body, contentType);
    if (answer.status >= 200 && answer.status < 300) {
      return {
        value: { ok: true, status: answer.status, object: withoutNoise(answer.json), message: null },
        notes: [],
      };
    }
    const message = statusText(answer);
    return {
      value: { ok: false, status: answer.status, object: null, message },
      notes: [`dry run refused by the API server: ${message}`],
    };
  } catch (err) {
    return { value: null, notes: [`dry run failed: ${failure(err)}`] };
  }
}

/**
 * The DeleteOptions of the dry run: the request's own body with dryRun set, or — when it had
 * none — the options the API server would have read from the query, with dryRun set. A string
 * says why there can be no dry run.
 */
function dryRunDeleteOptions(input: HoldRequest): Json | string {
  const bytes = input.bodyBytes;
  let options: Json;
  if (bytes === null || bytes.length === 0) {
    // withBody reads a body-less DELETE's options from its query, as the API server does.
    const fromQuery = withBody(input.request, Buffer.alloc(0)).deleteOptions;
    options = {};
    if (fromQuery?.gracePeriodSeconds != null) options.gracePeriodSeconds = fromQuery.gracePeriodSeconds;
    if (fromQuery?.propagationPolicy != null) options.propagationPolicy = fromQuery.propagationPolicy;
    if (fromQuery?.orphanDependents != null) options.orphanDependents = fromQuery.orphanDependents;
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      return 'the DELETE body is not JSON, so kubegate cannot add dryRun to it';
    }
    if (!isRecord(parsed)) return 'the DELETE body is not a JSON DeleteOptions object';
    options = { ...parsed };
  }
  // Older API servers decode JSON field names case-insensitively, the last one winning: drop
  // every spelling of dryRun, then add ours last.
  for (const key of Object.keys(options)) if (key.toLowerCase() === 'dryrun') delete options[key];
  options.dryRun = ['All'];
  return options;
}

// ---- the live object, as the requester -------------------------------------------------------

interface LiveState {
  /** null: the object does not exist (404). */
  readonly object: Json | null;
}

async function livePart(input: HoldRequest, requester: AsRequester): Promise<Part<LiveState>> {
  const { request } = input;
  let target: string;
  if (request.verb === 'create') {
    if (request.subresource !== '') return { value: null, notes: [] }; // eviction &c.: no object to diff
    const name = input.body.object?.metadata;
    const bodyName = isRecord(name) && typeof name.name === 'string' ? name.name : '';
    // generateName, or no name: nothing exists yet; the whole result is new.
    if (bodyName === '') return { value: { object: null }, notes: [] };
    target = `${request.path}/${encodeURIComponent(bodyName)}`;
  } else {
    target = request.path;
  }
  try {
    const answer = await requester.get(target);
    if (answer.status === 404) return { value: { object: null }, notes: [] };
    if (answer.status === 200 && isRecord(answer.json)) return { value: { object: answer.json }, notes: [] };
    return {
      value: null,
      notes: [`the live object could not be read as the requester: ${statusText(answer)}`],
    };
  } catch (err) {
    return { value: null, notes: [`the live object could not be read: ${failure(err)}`] };
  }
}

// ---- labels of the target, as kubegate ---------------------------------------------------------

async function labelsPart(
  deps: ReviewerContextDeps,
  request: KubeRequest,
  signal: AbortSignal,
): Promise<Part<Readonly<Record<string, string>>>> {
  // A create names a collection (its object does not exist yet), except for subresources such as
  // eviction, which name their object.
  const named = request.name !== '' && (request.verb !== 'create' || request.subresource !== '');
  if (!request.isResourceRequest || !named) return { value: null, notes: [] };
  // The object the API server's handler acts on, as the policy judged it (proxy ids split, a
  // namespace read as the cluster-scoped object it is).
  const ref = targetRef(request);
  if (ref === null)
    return { value: null, notes: [`${what(request)} cannot be named as the API server would`] };
  try {
    const object = await withSignal(deps.liveObjects.get(ref), signal);
    if (object === null) return { value: null, notes: [`${what(request)} does not exist`] };
    return { value: labelsOf(object), notes: [] };
  } catch (err) {
    return { value: null, notes: [`the labels of ${what(request)} could not be read: ${failure(err)}`] };
  }
}

function what(request: KubeRequest): string {
  const resource = request.apiGroup === '' ? request.resource : `${request.resource}.${request.apiGroup}`;
  const ns = request.namespace === '' || request.resource === 'namespaces' ? '' : `${request.namespace}/`;
  return `${resource} ${ns}${request.name}`;
}

// ---- what a deletecollection would delete ----------------------------------------------------

async function objectsPart(request: KubeRequest, requester: AsRequester): Promise<Part<string[]>> {
  const objects: string[] = [];
  let next = '';
  let remaining: number;
  try {
    do {
      const query = [`limit=${PAGE_SIZE}`];
      if (request.labelSelector !== '')
        query.push(`labelSelector=${encodeURIComponent(request.labelSelector)}`);
      if (request.fieldSelector !== '')
        query.push(`fieldSelector=${encodeURIComponent(request.fieldSelector)}`);
      if (next !== '') query.push(`continue=${encodeURIComponent(next)}`);
      const answer = await requester.get(
        `${request.path}?${query.join('&')}`,
        // Names are all a reviewer needs here: metadata only, when the API server offers it.
        'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
      );
      if (answer.status !== 200 || !isRecord(answer.json)) {
        return {
          value: objects.length === 0 ? null : objects,
          notes: [`the objects it would delete could not be listed as the requester: ${statusText(answer)}`],
        };
      }
      const items = Array.isArray(answer.json.items) ? answer.json.items : [];
      for (const item of items) {
        if (!isRecord(item) || !isRecord(item.metadata)) continue;
        const { namespace, name } = item.metadata;
        if (typeof name !== 'string') continue;
        objects.push(typeof namespace === 'string' && namespace !== '' ? `${namespace}/${name}` : name);
      }
      const metadata = isRecord(answer.json.metadata) ? answer.json.metadata : {};
      next = typeof metadata.continue === 'string' ? metadata.continue : '';
      remaining = typeof metadata.remainingItemCount === 'number' ? metadata.remainingItemCount : 0;
    } while (next !== '' && objects.length < MAX_LISTED_OBJECTS);
  } catch (err) {
    return {
      value: objects.length === 0 ? null : objects,
      notes: [`the objects it would delete could not be listed: ${failure(err)}`],
    };
  }
  const notes: string[] = [];
  if (next !== '') {
    const more = remaining > 0 ? `${remaining} more` : 'more';
    notes.push(`it would delete ${more} objects than the ${objects.length} listed`);
  }
  return { value: objects, notes };
}

function withSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

// ---- text --------------------------------------------------------------------------------------

/** "403 Forbidden: <the API server's message>" from a Status answer. */
function statusText(answer: Answer): string {
  const json = isRecord(answer.json) ? answer.json : {};
  const reason = typeof json.reason === 'string' && json.reason !== '' ? ` ${json.reason}` : '';
  const message = typeof json.message === 'string' ? `: ${cut(json.message)}` : '';
  return `${answer.status}${reason}${message}`;
}

function failure(err: unknown): string {
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError') return 'no answer in time';
  return cut(describeFailure(err, 'unknown error'));
}

function cut(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function labelsOf(object: Json): Readonly<Record<string, string>> {
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const labels = isRecord(metadata.labels) ? metadata.labels : {};
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') out[key] = value;
  return out;
}
