// The launcher stands in for the job in the user's shell: Ctrl-C reaches the job directly
// from the terminal (same process group), and a SIGTERM/SIGHUP sent to the launcher (a
// batch system ending the job) is passed on to the job's process.
export function forwardSignals(pid: number): () => void {
  const forward = (sig: NodeJS.Signals) => () => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    ['SIGTERM', forward('SIGTERM')],
    ['SIGHUP', forward('SIGHUP')],
    ['SIGINT', () => undefined],
    ['SIGQUIT', () => undefined],
  ];
  for (const [s, h] of handlers) process.on(s, h);
  return () => {
    for (const [s, h] of handlers) process.off(s, h);
  };
}
