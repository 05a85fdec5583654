// Publishes the audit chain's head outside the database (head.ts) while the gateway runs: once at
// start, then every intervalMs when the head moved, and a last time at stop. Input: where the
// head is read (the store's AuditReader.head), where it goes (the log today; the streaming sink
// later is one more `publish`), the clock. Output: PublishedHead records handed to `publish`.
// Must never stop the gateway: a head that cannot be read is reported and the next tick tries
// again. A cut made after the last published head is what this cannot see, so the interval
// bounds that window; the head at stop closes it for a clean shutdown.
import type { ChainHead } from './chain.js';
import { publishedHead, type PublishedHead } from './head.js';

export interface HeadPublisherDeps {
  /** The trail's current head; null while it is empty. */
  readonly head: () => Promise<ChainHead | null>;
  readonly publish: (head: PublishedHead) => void;
  /** A head that could not be read (the next tick tries again). */
  readonly onError: (err: unknown) => void;
  readonly now: () => Date;
  readonly intervalMs: number;
}

export interface HeadPublisher {
  /** Publishes the head now if it moved since the last one published; resolves when done. */
  tick(): Promise<void>;
  /** Stops the interval and publishes the head a last time (if it moved); later ticks do nothing. */
  stop(): Promise<void>;
}

export function startHeadPublisher(deps: HeadPublisherDeps): HeadPublisher {
  let last: ChainHead | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  const publishIfMoved = async (): Promise<void> => {
    try {
      const head = await deps.head();
      if (head === null || (last !== null && head.seq === last.seq && head.hash === last.hash)) return;
      deps.publish(publishedHead(head, deps.now()));
      last = head;
    } catch (err) {
      deps.onError(err);
    }
  };
  // One read at a time: a tick that finds one running shares it.
  const tick = (): Promise<void> => {
    running ??= publishIfMoved().finally(() => (running = null));
    return running;
  };

  const timer = setInterval(() => void tick(), deps.intervalMs);
  // The head is published for as long as the gateway runs; it never keeps the process alive.
  timer.unref();
  void tick();

  return {
    tick: () => (stopped ? Promise.resolve() : tick()),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      // The head read by a running tick may be older than what is committed now.
      await running;
      await tick();
    },
  };
}
