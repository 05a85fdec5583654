// Which held requests the reviewer context may dry-run (context.ts): only those the API server is
// KNOWN to carry out without effect when asked with dryRun=All. Everything else gets a note for
// reviewers ("no dry run: <why>") and is never sent. Input: the request's group, version, resource,
// subresource and verb; for groups that Kubernetes does not build in, kubegate's own reads of
// CustomResourceDefinitions and APIServices. Output: allowed, or the reason it is not.
// Must never allow a (group, resource, subresource) whose handler has not been read to honour
// dryRun: a wrong "yes" lets a reviewer's preview act before anyone approved (a real TokenRequest
// minted a real, usable token); a wrong "no" only costs the reviewer a preview.
//
// Why dryRun is not enough. The API server passes dryRun to each resource's REST handler, and only
// handlers built on the generic registry store (k8s.io/apiserver pkg/registry/generic/registry/
// store.go: Create, Update, Delete, GuaranteedUpdate all hand dryrun.IsDryRun(options.DryRun) to
// DryRunnableStorage, which then writes nothing) are bound by it. Read in Kubernetes v1.34.4
// (k8s.io/kubernetes pkg/registry/*/rest/storage_*.go name every resource and its handler):
//   - serviceaccounts/token (pkg/registry/core/serviceaccount/storage/token.go, TokenREST.Create)
//     never looks at options.DryRun: it signs and returns a real token. NOT dry-run.
//   - tokenreviews, selfsubjectreviews, subjectaccessreviews, selfsubjectaccessreviews,
//     localsubjectaccessreviews, selfsubjectrulesreviews (pkg/registry/authentication/…,
//     pkg/registry/authorization/…): their own Create, which ignores dryRun (they store nothing,
//     but kubegate does not dry-run what does not honour dryRun). NOT dry-run.
//   - componentstatuses: read-only, not a store. NOT dry-run.
//   - connect subresources (pods/exec, attach, portforward, proxy, log; services/proxy;
//     nodes/proxy): apiserver handlers/rest.go ConnectResource refuses dryRun; they are not
//     mutations. NOT dry-run.
//   - pods/binding and bindings (pkg/registry/core/pod/storage/storage.go BindingREST.Create,
//     LegacyBindingREST): pass dryrun.IsDryRun(options.DryRun) to the store's GuaranteedUpdate.
//   - pods/eviction (eviction.go): propagateDryRun copies the query's dryRun into the Eviction's
//     DeleteOptions (or refuses a mismatch), checkAndDecrement returns before updating the PDB,
//     addConditionAndDeletePod skips the DisruptionTarget condition, the delete is dry.
//   - services (pkg/registry/core/service/storage: beginCreate/beginUpdate hand dryRun to the IP
//     and node-port allocators, which then reserve nothing; afterDelete releases nothing).
//   - namespaces delete and finalize, CRD delete, priorityclasses delete, jobs delete, the RBAC
//     escalation-checking wrappers: all end in the store with the caller's options.
//   - status, scale, approval, ephemeralcontainers, resize, finalize subresources: StatusREST,
//     ScaleREST, ApprovalREST, EphemeralContainersREST, ResizeREST, FinalizeREST all call
//     store.Update with the caller's options.
//   - Admission: built-in plugins with side effects check IsDryRun (NamespaceAutoProvision,
//     ResourceQuota, EventRateLimit), and webhooks are only called on a dry run when they
//     declare sideEffects None or NoneOnDryRun.
// Custom resources are served by apiextensions-apiserver's customresource store (and its
// StatusREST and ScaleREST), which honours dryRun, but only when the group/version is not
// claimed by an aggregated API server (an APIService with spec.service proxies the whole
// group/version to code kubegate knows nothing of). So a resource of another group is dry-run
// only when kubegate, as itself, reads the CRD `<plural>.<group>` serving that version (and the
// subresource, if any) and the APIService `<version>.<group>` is absent or local. A built-in group
// is checked against the table alone, at the versions Kubernetes v1.34 serves for it (their local
// APIServices are kept by the API server's autoregister controller); any other version of a
// built-in group (an APIService an administrator added, say v2.apps) is checked like a custom one.
import type { LiveObjects, ObjectRef } from '../upstream/live-objects.js';
import { CONNECT_SUBRESOURCES } from '../request/target.js';

/** What a dry-run decision looks at: KubeRequest's own field names. */
export interface DryRunTarget {
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  readonly subresource: string;
}

export type DryRunVerdict = { readonly ok: true } | { readonly ok: false; readonly why: string };

/** A built-in group: the versions v1.34 serves, and per resource the subresources ('' is the
 * resource itself) whose handler is the store's. */
interface BuiltInGroup {
  readonly versions: readonly string[];
  readonly resources: Readonly<Record<string, readonly string[]>>;
}

const TOP = [''] as const;
const STATUS = ['', 'status'] as const;
const STATUS_SCALE = ['', 'status', 'scale'] as const;

/** Built-in groups of Kubernetes v1.34 and the resources of each that honour dryRun (see header). */
export const BUILT_IN_DRY_RUN: Readonly<Record<string, BuiltInGroup>> = {
  '': {
    versions: ['v1'],
    resources: {
      bindings: TOP,
      configmaps: TOP,
      endpoints: TOP,
      events: TOP,
      limitranges: TOP,
      namespaces: ['', 'status', 'finalize'],
      nodes: STATUS,
      persistentvolumeclaims: STATUS,
      persistentvolumes: STATUS,
      pods: ['', 'status', 'binding', 'eviction', 'ephemeralcontainers', 'resize'],
      podtemplates: TOP,
      replicationcontrollers: STATUS_SCALE,
      resourcequotas: STATUS,
      secrets: TOP,
      serviceaccounts: TOP,
      services: STATUS,
    },
  },
  'admissionregistration.k8s.io': {
    versions: ['v1', 'v1beta1', 'v1alpha1'],
    resources: {
      mutatingadmissionpolicies: TOP,
      mutatingadmissionpolicybindings: TOP,
      mutatingwebhookconfigurations: TOP,
      validatingadmissionpolicies: STATUS,
      validatingadmissionpolicybindings: TOP,
      validatingwebhookconfigurations: TOP,
    },
  },
  'internal.apiserver.k8s.io': { versions: ['v1alpha1'], resources: { storageversions: STATUS } },
  apps: {
    versions: ['v1'],
    resources: {
      controllerrevisions: TOP,
      daemonsets: STATUS,
      deployments: STATUS_SCALE,
      replicasets: STATUS_SCALE,
      statefulsets: STATUS_SCALE,
    },
  },
  'authentication.k8s.io': { versions: ['v1', 'v1beta1'], resources: {} },
  'authorization.k8s.io': { versions: ['v1'], resources: {} },
  autoscaling: { versions: ['v1', 'v2'], resources: { horizontalpodautoscalers: STATUS } },
  batch: { versions: ['v1'], resources: { cronjobs: STATUS, jobs: STATUS } },
  'certificates.k8s.io': {
    versions: ['v1', 'v1beta1', 'v1alpha1'],
    resources: {
      certificatesigningrequests: ['', 'status', 'approval'],
      clustertrustbundles: TOP,
      podcertificaterequests: STATUS,
    },
  },
  'coordination.k8s.io': {
    versions: ['v1', 'v1beta1', 'v1alpha2'],
    resources: { leasecandidates: TOP, leases: TOP },
  },
  'discovery.k8s.io': { versions: ['v1'], resources: { endpointslices: TOP } },
  'events.k8s.io': { versions: ['v1'], resources: { events: TOP } },
  'flowcontrol.apiserver.k8s.io': {
    versions: ['v1', 'v1beta3'],
    resources: { flowschemas: STATUS, prioritylevelconfigurations: STATUS },
  },
  'networking.k8s.io': {
    versions: ['v1', 'v1beta1'],
    resources: {
      ingressclasses: TOP,
      ingresses: STATUS,
      ipaddresses: TOP,
      networkpolicies: TOP,
      servicecidrs: STATUS,
    },
  },
  'node.k8s.io': { versions: ['v1'], resources: { runtimeclasses: TOP } },
  policy: { versions: ['v1'], resources: { poddisruptionbudgets: STATUS } },
  'rbac.authorization.k8s.io': {
    versions: ['v1'],
    resources: { clusterrolebindings: TOP, clusterroles: TOP, rolebindings: TOP, roles: TOP },
  },
  'resource.k8s.io': {
    versions: ['v1', 'v1beta2', 'v1beta1', 'v1alpha3'],
    resources: {
      deviceclasses: TOP,
      devicetaintrules: TOP,
      resourceclaims: STATUS,
      resourceclaimtemplates: TOP,
      resourceslices: TOP,
    },
  },
  'scheduling.k8s.io': { versions: ['v1'], resources: { priorityclasses: TOP } },
  'storage.k8s.io': {
    versions: ['v1', 'v1beta1', 'v1alpha1'],
    resources: {
      csidrivers: TOP,
      csinodes: TOP,
      csistoragecapacities: TOP,
      storageclasses: TOP,
      volumeattachments: STATUS,
      volumeattributesclasses: TOP,
    },
  },
  'storagemigration.k8s.io': { versions: ['v1alpha1'], resources: { storageversionmigrations: STATUS } },
  'apiextensions.k8s.io': { versions: ['v1'], resources: { customresourcedefinitions: STATUS } },
  'apiregistration.k8s.io': { versions: ['v1'], resources: { apiservices: STATUS } },
};

/** Why a built-in handler is not dry-run, where the reason is worth more than "not known". */
const KNOWN_REFUSALS: Readonly<Record<string, string>> = {
  '/serviceaccounts/token':
    'the API server does not honour dryRun for serviceaccounts/token (TokenRequest): it would issue a real token',
  'authentication.k8s.io/tokenreviews': 'TokenReview is answered by its own handler, which ignores dryRun',
  'authentication.k8s.io/selfsubjectreviews':
    'SelfSubjectReview is answered by its own handler, which ignores dryRun',
  'authorization.k8s.io/subjectaccessreviews': 'access reviews are answered by a handler that ignores dryRun',
  'authorization.k8s.io/selfsubjectaccessreviews':
    'access reviews are answered by a handler that ignores dryRun',
  'authorization.k8s.io/localsubjectaccessreviews':
    'access reviews are answered by a handler that ignores dryRun',
  'authorization.k8s.io/selfsubjectrulesreviews':
    'access reviews are answered by a handler that ignores dryRun',
};

/** Streams rather than objects (connect handlers, logs): dryRun means nothing to them. */
const STREAMS: ReadonlySet<string> = new Set([...CONNECT_SUBRESOURCES, 'proxy', 'log']);

function resourceName(t: DryRunTarget): string {
  const what = t.subresource === '' ? t.resource : `${t.resource}/${t.subresource}`;
  return t.apiGroup === '' ? what : `${what} (${t.apiGroup})`;
}

/**
 * The table's answer for a built-in group, or null when the group is not built in (then only a
 * CustomResourceDefinition can make it dry-runnable: customResourceDryRun).
 */
export function builtInDryRun(t: DryRunTarget): DryRunVerdict | null {
  if (STREAMS.has(t.subresource)) {
    return { ok: false, why: `${resourceName(t)} is a connect subresource, which dryRun does not apply to` };
  }
  const group = Object.hasOwn(BUILT_IN_DRY_RUN, t.apiGroup) ? BUILT_IN_DRY_RUN[t.apiGroup]! : null;
  if (group === null || !group.versions.includes(t.apiVersion)) return null;
  const served = group.resources;
  if (Object.hasOwn(served, t.resource) && served[t.resource]!.includes(t.subresource)) return { ok: true };
  const key = `${t.apiGroup}/${t.resource}${t.subresource === '' ? '' : `/${t.subresource}`}`;
  return {
    ok: false,
    why:
      KNOWN_REFUSALS[key] ??
      `kubegate does not know that the API server honours dryRun for ${resourceName(t)}`,
  };
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ref = (resource: string, apiGroup: string, name: string): ObjectRef => ({
  apiPrefix: 'apis',
  apiGroup,
  apiVersion: 'v1',
  resource,
  namespace: '',
  name,
});

/**
 * For a group Kubernetes does not build in: allowed only when kubegate reads (as itself) a CRD
 * `<resource>.<group>` that serves this version (and subresource), and no APIService sends this
 * group/version to another server. Any failure to read either is a refusal: unknown is not safe.
 */
export async function customResourceDryRun(
  t: DryRunTarget,
  liveObjects: Pick<LiveObjects, 'get'>,
): Promise<DryRunVerdict> {
  const crdName = `${t.resource}.${t.apiGroup}`;
  const notCrd = `${resourceName(t)} is not served from a CustomResourceDefinition that kubegate can see, so kubegate does not know that its server honours dryRun`;
  let crd: Json | null;
  let apiService: Json | null;
  try {
    [crd, apiService] = await Promise.all([
      liveObjects.get(ref('customresourcedefinitions', 'apiextensions.k8s.io', crdName)),
      liveObjects.get(ref('apiservices', 'apiregistration.k8s.io', `${t.apiVersion}.${t.apiGroup}`)),
    ]);
  } catch (err) {
    const message = err instanceof Error ? err.message : 'unknown error';
    return {
      ok: false,
      why: `kubegate could not check that ${resourceName(t)} is a custom resource (${message.slice(0, 200)})`,
    };
  }
  if (apiService !== null && isRecord(apiService.spec) && apiService.spec.service != null) {
    return {
      ok: false,
      why: `${t.apiGroup}/${t.apiVersion} is served by an aggregated API server (APIService ${t.apiVersion}.${t.apiGroup}), which kubegate does not know to honour dryRun`,
    };
  }
  if (crd === null || !isRecord(crd.spec)) return { ok: false, why: notCrd };
  const spec = crd.spec;
  const names = isRecord(spec.names) ? spec.names : {};
  if (spec.group !== t.apiGroup || names.plural !== t.resource) return { ok: false, why: notCrd };
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isRecord) : [];
  const version = versions.find((v) => v.name === t.apiVersion && v.served === true);
  if (version === undefined) {
    return { ok: false, why: `the CustomResourceDefinition ${crdName} does not serve ${t.apiVersion}` };
  }
  if (t.subresource === '') return { ok: true };
  const subresources = isRecord(version.subresources) ? version.subresources : {};
  if ((t.subresource === 'status' || t.subresource === 'scale') && isRecord(subresources[t.subresource])) {
    return { ok: true };
  }
  return {
    ok: false,
    why: `the CustomResourceDefinition ${crdName} serves no ${t.subresource} subresource that kubegate knows to honour dryRun`,
  };
}

/** The whole decision: the built-in table, else a CustomResourceDefinition read as kubegate. */
export async function mayDryRun(
  t: DryRunTarget,
  liveObjects: Pick<LiveObjects, 'get'>,
): Promise<DryRunVerdict> {
  return builtInDryRun(t) ?? (await customResourceDryRun(t, liveObjects));
}
