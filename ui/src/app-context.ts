// What every view needs from the shell: the API client and who is signed in. Provided once by
// App; views read it with useApp().
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient } from './api-client.js';
import type { Session } from './api-types.js';

export interface AppServices {
  readonly api: ApiClient;
  /** Null only on the sign-in page. */
  readonly session: Session | null;
  /** After sign-in: the new session (its CSRF token goes to the client). */
  readonly signedIn: (session: Session) => void;
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const services = useContext(AppContext);
  if (services === null) throw new TypeError('useApp outside <AppContext.Provider>');
  return services;
}
