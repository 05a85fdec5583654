// Shutdown on SIGINT/SIGTERM for long-running commands (serve, up).

/**
 * Resolves on the first SIGINT or SIGTERM and keeps ignoring later ones, so that a second signal
 * (npx and tsx both relay Ctrl-C) cannot kill the process half-way through an orderly stop.
 */
export function untilSignalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => resolve(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
