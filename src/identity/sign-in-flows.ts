// Where the web UI's sign-ins through an OpenID provider wait for the provider's answer
// (web/oidc-sign-in-flow.ts uses them; store/ keeps them for several replicas). Input/output: a
// PendingSignIn by key, the SHA-256 of the id only its browser holds. An implementation must
// bound what it keeps (starting a sign-in needs no credential) and hand each flow out once.
/** One sign-in in progress: what the answer is checked against. */
export interface PendingSignIn {
  /** Index of the issuer in identity.oidc. */
  readonly issuer: number;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** The UI page to land on afterwards (safeNext). */
  readonly next: string;
  readonly startedAt: number;
}

/** Where sign-ins in progress are kept, by the SHA-256 of their id. */
export interface SignInFlowStore {
  /** Keeps `flow`, first dropping the expired ones and, at `max`, the oldest. */
  add(
    key: string,
    flow: PendingSignIn,
    limits: { readonly ttlMs: number; readonly max: number },
  ): Promise<void>;
  /** Removes the flow and returns it: of two takers (two replicas) only one gets it. */
  take(key: string): Promise<PendingSignIn | null>;
}

/** The sign-ins in progress of one process (one replica). */
export function memorySignInFlows(): SignInFlowStore & { readonly size: number } {
  const flows = new Map<string, PendingSignIn>();
  return {
    get size() {
      return flows.size;
    },
    add(key, flow, { ttlMs, max }) {
      // A Map keeps insertion order: the first entries are the oldest.
      for (const [id, old] of flows) {
        if (old.startedAt + ttlMs > flow.startedAt && flows.size < max) break;
        flows.delete(id);
      }
      flows.set(key, flow);
      return Promise.resolve();
    },
    take(key) {
      const flow = flows.get(key) ?? null;
      flows.delete(key);
      return Promise.resolve(flow);
    },
  };
}
