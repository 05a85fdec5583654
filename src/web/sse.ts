// Server-sent events (the WHATWG EventSource format) on one response, for the reviewer API's
// watch. Works on HTTP/1.1 (chunked) and HTTP/2 (a stream; no connection headers). Input: a
// response whose head is not yet written. Output: an EventStream to send events on until the
// client leaves or close() is called.
//
// A comment line goes out every heartbeatMs, so that proxies and load balancers do not cut an idle
// stream and the client notices a dead one. Must never buffer without bound: a client that stops
// reading while events pile up past maxBufferedBytes is cut off (it reconnects and re-lists).
// Event names and ids are chosen by kubegate; data is one line of JSON, which never holds a raw
// CR or LF, so no field can break out of its event.
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';

export type StreamResponse = ServerResponse | Http2ServerResponse;

export interface EventStreamOptions {
  readonly heartbeatMs: number;
  /** Bytes waiting for a slow client before it is cut off. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** How long a client waits before reconnecting after the stream ends (the `retry:` field). */
  readonly retryMs?: number;
}

export interface EventStream {
  /** Sends one event; false when the stream is closed (nothing was sent). */
  send(event: string, data: unknown): boolean;
  /** Sends a comment line (clients ignore it; it tells a person reading the stream something). */
  comment(text: string): boolean;
  /** Ends the stream. */
  close(): void;
  readonly isClosed: boolean;
  /** Resolves when the stream has ended, whoever ended it. */
  readonly closed: Promise<void>;
}

const DEFAULT_MAX_BUFFERED = 1024 * 1024;

export function openEventStream(res: StreamResponse, options: EventStreamOptions): EventStream {
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  let isClosed = false;
  let nextId = 1;
  let resolveClosed = (): void => undefined;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    // nginx and similar proxies buffer responses unless told not to.
    'x-accel-buffering': 'no',
  });
  // The head goes out now, not with the first event: the client learns at once that it is watching.
  // (HTTP/2's writeHead sends the HEADERS frame itself.)
  if ('flushHeaders' in res) res.flushHeaders();

  const heartbeat = setInterval(() => write(': heartbeat\n\n'), options.heartbeatMs);
  heartbeat.unref();

  function finish(): void {
    if (isClosed) return;
    isClosed = true;
    clearInterval(heartbeat);
    resolveClosed();
  }
  res.once('close', finish);

  function write(text: string): boolean {
    if (isClosed || res.writableEnded || res.destroyed) return false;
    if (res.writableLength > maxBuffered) {
      // The client is not reading: cut it off rather than hold its events in memory.
      (res as { destroy(): void }).destroy();
      finish();
      return false;
    }
    (res as { write(chunk: string): boolean }).write(text);
    return true;
  }

  write(`retry: ${options.retryMs ?? 3_000}\n: kubegate watch\n\n`);

  return {
    send(event, data) {
      return write(`id: ${nextId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    comment(text) {
      return write(`: ${text.replace(/[\r\n]/gu, ' ')}\n\n`);
    },
    close() {
      if (!isClosed && !res.writableEnded) res.end();
      finish();
    },
    get isClosed() {
      return isClosed;
    },
    closed,
  };
}
