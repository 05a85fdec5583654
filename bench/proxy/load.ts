// Load generators for bench/proxy: wrk for HTTP/1.1 keep-alive clients, h2load (Debian's
// nghttp2-client) for HTTP/2 clients, kubectl's protocol. Both are C programs, so the client
// takes little of a 2-core machine's CPU from the proxies being measured.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type Protocol = 'http/1.1' | 'h2';

/** One request to repeat: the method, path and (for a write) body with its content type. */
export interface Load {
  readonly name: string;
  readonly path: string;
  readonly method?: 'GET' | 'PATCH';
  readonly body?: { readonly contentType: string; readonly text: string };
}

export interface LoadTarget {
  readonly name: string;
  readonly url: string;
  readonly authorization: string | null;
  /** The server speaks only HTTP/1.1 (kubectl proxy): its h2 rows are HTTP/1.1 from the same client. */
  readonly h1Only?: boolean;
}

export interface LoadResult {
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly requests: number;
}

/** `connections` clients, one request in flight on each, for `seconds`. */
export function generateLoad(
  protocol: Protocol,
  target: LoadTarget,
  load: Load,
  connections: number,
  seconds: number,
  dir: string,
): Promise<LoadResult> {
  return protocol === 'h2'
    ? h2load(target, load, connections, seconds, dir)
    : wrk(target, load, connections, seconds, dir);
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) throw new Error(`unparsable wrk latency ${value}`);
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

async function wrk(
  target: LoadTarget,
  load: Load,
  connections: number,
  seconds: number,
  dir: string,
): Promise<LoadResult> {
  const script = join(dir, `${target.name}-${load.name}.lua`.replace(/[^\w.-]/g, '_'));
  const lines = ['wrk.headers["Accept"] = "application/json"'];
  if (target.authorization) lines.push(`wrk.headers["Authorization"] = "${target.authorization}"`);
  if (load.method) lines.push(`wrk.method = "${load.method}"`);
  if (load.body) {
    lines.push(`wrk.headers["Content-Type"] = "${load.body.contentType}"`);
    lines.push(`wrk.body = ${JSON.stringify(load.body.text)}`);
  }
  await writeFile(script, `${lines.join('\n')}\n`);
  const { stdout } = await run(
    'wrk',
    [
      '-t',
      String(Math.min(connections, 2)),
      '-c',
      String(connections),
      '-d',
      `${seconds}s`,
      '--latency',
      '-s',
      script,
      target.url + load.path,
    ],
    { maxBuffer: 1 << 20 },
  );
  const p50 = /^\s+50%\s+(\S+)/m.exec(stdout)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(stdout)?.[1];
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(stdout)?.[1];
  const total = /^\s+(\d+) requests in/m.exec(stdout)?.[1];
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1];
  if (!p50 || !p99 || !rps || !total) throw new Error(`unexpected wrk output:\n${stdout}`);
  if (non2xx) throw new Error(`${target.name}: ${non2xx} non-2xx responses to ${load.name}`);
  return { rps: Number(rps), p50ms: toMs(p50), p99ms: toMs(p99), requests: Number(total) };
}

/** The q-quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function h2load(
  target: LoadTarget,
  load: Load,
  connections: number,
  seconds: number,
  dir: string,
): Promise<LoadResult> {
  const base = join(dir, `${target.name}-${load.name}-h2`.replace(/[^\w.-]/g, '_'));
  const args = ['-c', String(connections), '-m', '1', '-D', String(seconds), '--log-file', `${base}.log`];
  if (target.h1Only) args.push('--h1');
  args.push('-H', 'accept: application/json');
  if (target.authorization) args.push('-H', `authorization: ${target.authorization}`);
  if (load.method && load.method !== 'GET') args.push('-H', `:method: ${load.method}`);
  if (load.body) {
    await writeFile(`${base}.body`, load.body.text);
    args.push('-H', `content-type: ${load.body.contentType}`, '-d', `${base}.body`);
  }
  const { stdout } = await run('h2load', [...args, target.url + load.path], { maxBuffer: 1 << 20 });
  const rps = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(stdout)?.[1];
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  const failed =
    /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
  if (!rps || !codes || !failed) throw new Error(`unexpected h2load output:\n${stdout}`);
  const not2xx = Number(codes[2]) + Number(codes[3]) + Number(codes[4]);
  if (not2xx > 0 || Number(failed[2]) > 0 || Number(failed[3]) > 0) {
    throw new Error(`${target.name}: h2load saw failures on ${load.name}:\n${stdout}`);
  }
  // Per request: start (µs since the epoch), status, duration (µs).
  const durations = (await readFile(`${base}.log`, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => Number(line.split('\t')[2]) / 1000)
    .sort((a, b) => a - b);
  return {
    rps: Number(rps),
    p50ms: quantile(durations, 0.5),
    p99ms: quantile(durations, 0.99),
    requests: durations.length,
  };
}
