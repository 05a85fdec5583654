// Whether the API server answers kubegate (readiness, health/readiness.ts): GET /readyz with
// kubegate's own credentials over the same pool the gateway forwards through. Input: the
// upstream. Output: null when it answered 200, else a short reason. Only upstream/ reaches the
// API server.
import type { Upstream } from './pool.js';

export async function probeUpstream(upstream: Upstream, timeoutMs: number): Promise<string | null> {
  const authorization = upstream.authorization();
  try {
    const answer = await upstream.pool.request({
      method: 'GET',
      path: `${upstream.pathPrefix}/readyz`,
      headers: authorization === null ? {} : { authorization },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await answer.body.dump();
    return answer.statusCode === 200 ? null : `the API server answered /readyz with ${answer.statusCode}`;
  } catch (err) {
    return `cannot reach the API server at ${upstream.origin}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
