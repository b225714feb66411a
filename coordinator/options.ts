// What startCoordinator accepts and gives back, and the defaults the brief and DMTCP habits
// call for (keep 2 generations, 60 s per phase, an hour to write images).
export interface CoordinatorOptions {
  /** Port to listen on; 0 = any free port (then use portFile to learn it). */
  port: number;
  /** Address to bind; default '0.0.0.0' (agents on other hosts must reach it). */
  host?: string;
  /** Written atomically after listening: the port number and a newline. */
  portFile?: string;
  /** Root of checkpoint directories: <ckptDir>/<jobId>/gen-NNNNNN. */
  ckptDir: string;
  /** Seconds between interval checkpoints; 0 = none. */
  intervalS: number;
  /** Shut down when every member has left. */
  exitOnLast: boolean;
  /** Committed generations kept (default 2). */
  keep: number;
  /** Seconds each barrier phase may take (default 60). */
  phaseTimeoutS: number;
  /** Seconds the CHECKPOINTED phase (writing images) may take (default 3600). */
  writeTimeoutS: number;
  /** The cairn command written into cairn_restart.sh. */
  cairnBin: string;
  log: (line: string) => void;
}

export interface RunningCoordinator {
  port: number;
  secret: string;
  /** Resolves once the coordinator has shut down (Quit, exitOnLast, close()). */
  done: Promise<void>;
  /** Members that ever joined (running or not). */
  memberCount(): number;
  close(): Promise<void>;
}

export const DEFAULT_KEEP = 2;
export const DEFAULT_PHASE_TIMEOUT_S = 60;
export const DEFAULT_WRITE_TIMEOUT_S = 3600;

/** Options with every default applied and every path absolute (the restart script and the
 * agents must not depend on the coordinator's working directory). */
export interface ResolvedOptions extends Required<Omit<CoordinatorOptions, 'portFile'>> {
  portFile?: string;
}

export function resolveOptions(opts: CoordinatorOptions, cwd: string, resolve: (cwd: string, p: string) => string): ResolvedOptions {
  const positive = (v: number | undefined, dflt: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : dflt);
  return {
    port: opts.port,
    host: opts.host ?? '0.0.0.0',
    portFile: opts.portFile ? resolve(cwd, opts.portFile) : undefined,
    ckptDir: resolve(cwd, opts.ckptDir),
    intervalS: Number.isFinite(opts.intervalS) && opts.intervalS > 0 ? opts.intervalS : 0,
    exitOnLast: opts.exitOnLast,
    // Keeping 0 generations would delete what was just committed.
    keep: Math.max(1, Math.floor(positive(opts.keep, DEFAULT_KEEP))),
    phaseTimeoutS: positive(opts.phaseTimeoutS, DEFAULT_PHASE_TIMEOUT_S),
    writeTimeoutS: positive(opts.writeTimeoutS, DEFAULT_WRITE_TIMEOUT_S),
    cairnBin: resolve(cwd, opts.cairnBin),
    log: opts.log,
  };
}
