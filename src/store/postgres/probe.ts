// Whether the PostgreSQL store's database takes writes (store/probe.ts): a short-lived connection
// of its own asks whether the server is a primary and its sessions may write. Input: the store's config. Output: null, or a
// reason without the password.
import pg from 'pg';
import { redacted, urlOf, type PostgresStoreConfig } from './open.js';

export async function probePostgres(config: PostgresStoreConfig, timeoutMs: number): Promise<string | null> {
  let url: string;
  try {
    url = await urlOf(config);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'kubegate-probe',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ standby: boolean; readOnly: string }>(
      'SELECT pg_is_in_recovery() AS standby, current_setting(\'transaction_read_only\') AS "readOnly"',
    );
    if (rows[0]?.standby === true) return `kubegate's database at ${redacted(url)} is a read-only standby`;
    if (rows[0]?.readOnly === 'on') return `kubegate's database at ${redacted(url)} is read-only`;
    return null;
  } catch (err) {
    return `cannot reach kubegate's database at ${redacted(url)}: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await client.end().catch(() => {});
  }
}
