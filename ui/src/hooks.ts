// Small hooks the views share: a ticking clock for ages and deadlines, and the page title.
import { useEffect, useState } from 'preact/hooks';

/** Date.now(), refreshed every `intervalMs` so that "3m ago" keeps counting. */
export function useNow(intervalMs = 15_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title === '' ? 'kubegate' : `${title} · kubegate`;
  }, [title]);
}
