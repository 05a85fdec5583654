// Whether a built-in Kubernetes resource is namespaced, without asking the API server: a list or
// watch with no namespace reads every namespace of a namespaced resource (`kubectl get secrets
// -A`), but only the cluster-scoped objects of a cluster-scoped one (`kubectl get nodes`).
//
// Input: an API group and a resource. Output: true (namespaced), false (cluster-scoped), or
// null for a group that is not built in (CRDs and aggregated APIs: ask discovery).
// Must never call a namespaced resource cluster-scoped: that would let a read across all
// namespaces slip past a namespace condition. The table lists the cluster-scoped resources of
// the built-in groups (Kubernetes 1.27–1.37); any other resource of those groups is taken as
// namespaced, so a cluster-scoped resource added by a later release and missing here only makes
// a namespace condition fail closed. test/e2e/policy-unknowns.test.ts checks the table against
// the test bed's discovery.

const CLUSTER_SCOPED: Readonly<Record<string, readonly string[]>> = {
  '': ['namespaces', 'nodes', 'persistentvolumes', 'componentstatuses'],
  apps: [],
  batch: [],
  autoscaling: [],
  policy: [],
  'coordination.k8s.io': [],
  'discovery.k8s.io': [],
  'events.k8s.io': [],
  'rbac.authorization.k8s.io': ['clusterroles', 'clusterrolebindings'],
  'storage.k8s.io': [
    'storageclasses',
    'csidrivers',
    'csinodes',
    'volumeattachments',
    'volumeattributesclasses',
  ],
  'networking.k8s.io': ['ingressclasses', 'ipaddresses', 'servicecidrs'],
  'node.k8s.io': ['runtimeclasses'],
  'scheduling.k8s.io': ['priorityclasses'],
  'certificates.k8s.io': ['certificatesigningrequests', 'clustertrustbundles'],
  'admissionregistration.k8s.io': [
    'mutatingwebhookconfigurations',
    'validatingwebhookconfigurations',
    'validatingadmissionpolicies',
    'validatingadmissionpolicybindings',
    'mutatingadmissionpolicies',
    'mutatingadmissionpolicybindings',
  ],
  'apiextensions.k8s.io': ['customresourcedefinitions'],
  'apiregistration.k8s.io': ['apiservices'],
  'flowcontrol.apiserver.k8s.io': ['flowschemas', 'prioritylevelconfigurations'],
  'resource.k8s.io': ['deviceclasses', 'resourceslices', 'devicetaintrules'],
  'authentication.k8s.io': ['tokenreviews', 'selfsubjectreviews'],
  'authorization.k8s.io': ['subjectaccessreviews', 'selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
  'internal.apiserver.k8s.io': ['storageversions'],
  'storagemigration.k8s.io': ['storageversionmigrations'],
};

const TABLE: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries(CLUSTER_SCOPED).map(([group, resources]) => [group, new Set(resources)]),
);

/** The built-in groups this table knows, for the test that compares it with discovery. */
export const BUILTIN_GROUPS: readonly string[] = [...TABLE.keys()];

/** Whether a built-in resource is namespaced; null when the group is not built in. */
export function builtinNamespaced(apiGroup: string, resource: string): boolean | null {
  const clusterScoped = TABLE.get(apiGroup);
  if (clusterScoped === undefined) return null;
  return !clusterScoped.has(resource);
}
