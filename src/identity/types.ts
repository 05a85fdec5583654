// Identity: who the caller is, as authenticated by kubegate. The only source of the
// Impersonate-* headers sent upstream.

export type AuthMethod = 'client-certificate' | 'token';

export interface Identity {
  readonly user: string;
  readonly groups: readonly string[];
  readonly method: AuthMethod;
}
