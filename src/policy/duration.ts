// Go-style durations ("30s", "5m", "1h30m", "500ms") as used by the approval settings of a
// policy. Input: the text from the document. Output: milliseconds, or a message saying why the
// text is not a duration. Kubernetes users write Go durations everywhere (kubectl --timeout,
// --request-timeout), so the policy reads them the same way; there is no "d" unit in Go.

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/u;
const TERM = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gu;

export type DurationResult =
  { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly message: string };

export function parseDuration(text: string): DurationResult {
  if (!DURATION.test(text)) {
    const hint = /^\d+d$/u.test(text) ? '; Go durations have no "d" unit, write hours such as "24h"' : '';
    return {
      ok: false,
      message: `${JSON.stringify(text)} is not a duration (write it like "30s", "5m" or "1h30m"${hint})`,
    };
  }
  let ms = 0;
  for (const m of text.matchAll(TERM)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
  if (ms < 1) return { ok: false, message: `${JSON.stringify(text)} is shorter than a millisecond` };
  return { ok: true, ms: Math.round(ms) };
}

/** Milliseconds back to the shortest Go-style text ("1h30m", "45s", "250ms"), for display. */
export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const out = `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
  return out === '' ? '0s' : out;
}
