// The live feed of approval events: one EventSource on /kubegate/v1/watch while a view is shown.
// EventSource reconnects by itself after a dropped stream (the server's `retry:`); when it gives
// up (a non-200 answer, such as a 401 once the session is gone) the session is checked — a 401
// there sends the page to sign-in — and a new EventSource is tried a little later. Every open,
// first or again, is reported, so that the view re-lists what it may have missed.
import { useEffect, useRef, useState } from 'preact/hooks';
import { API_BASE, type ApiClient } from './api-client.js';
import type { WatchEvent } from './api-types.js';

export const EVENT_TYPES: readonly WatchEvent['type'][] = [
  'created',
  'reviewed',
  'escalated',
  'decided',
  'expired',
  'context',
  'granted',
  'updated',
];

export type WatchStatus = 'connecting' | 'live' | 'reconnecting';

const RETRY_MS = 5_000;

/** Parses one event's data; null for anything that is not a watch event. */
export function parseWatchEvent(data: unknown): WatchEvent | null {
  if (typeof data !== 'string') return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const event = value as Partial<WatchEvent>;
  if (typeof event.type !== 'string' || !EVENT_TYPES.includes(event.type)) return null;
  if (typeof event.pending !== 'object' || event.pending === null || typeof event.pending.id !== 'string')
    return null;
  return value as WatchEvent;
}

export function useWatch(
  api: ApiClient,
  onEvent: (event: WatchEvent) => void,
  onOpen: () => void,
): WatchStatus {
  const [status, setStatus] = useState<WatchStatus>('connecting');
  const handlers = useRef({ onEvent, onOpen });
  handlers.current = { onEvent, onOpen };

  useEffect(() => {
    let source: EventSource | null = null;
    let retry: number | undefined;
    let stopped = false;

    const connect = (): void => {
      if (stopped) return;
      const es = new EventSource(`${API_BASE}watch`);
      source = es;
      es.onopen = () => {
        setStatus('live');
        handlers.current.onOpen();
      };
      es.onerror = () => {
        if (es.readyState !== EventSource.CLOSED) {
          setStatus('reconnecting');
          return;
        }
        setStatus('reconnecting');
        es.close();
        // A refused stream may mean the session ended: asking for it sends a 401 to sign-in.
        api.get('session').then(
          () => undefined,
          () => undefined,
        );
        retry = window.setTimeout(connect, RETRY_MS);
      };
      for (const type of EVENT_TYPES) {
        es.addEventListener(type, (message: MessageEvent<unknown>) => {
          const event = parseWatchEvent(message.data);
          if (event !== null) handlers.current.onEvent(event);
        });
      }
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      source?.close();
    };
  }, [api]);

  return status;
}
