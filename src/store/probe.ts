// Whether kubegate's store can take writes right now (readiness, health/readiness.ts). Input: the
// store's config. Output: null when writable, else a short reason that never holds the
// database's password. SQLite: the data directory and the trail's file accept writes (a
// read-only or full filesystem, a file whose permissions changed). PostgreSQL: a connection of
// its own (not one of the store's pool, so a probe never waits behind requests) reaches a
// primary, not a read-only standby.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoreConfig } from './open.js';
import { probePostgres } from './postgres/probe.js';

export function storeProbe(config: StoreConfig, timeoutMs: number): () => Promise<string | null> {
  switch (config.type) {
    case 'sqlite':
      return async () => {
        for (const path of [config.dir, dirname(config.auditFile), config.auditFile]) {
          try {
            await access(path, constants.W_OK);
          } catch (err) {
            return `kubegate's store cannot be written: ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
          }
        }
        return null;
      };
    case 'postgres':
      return () => probePostgres(config, timeoutMs);
  }
}
