// How the system drivers run programs: argv in, exit code and output back; real or recorded.

export interface RunOptions {
  readonly cwd?: string;
  /** Killed (SIGTERM, then SIGKILL) after this long; the result then has exit code 124. */
  readonly timeoutMs?: number;
  /** Aborting kills the process and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandRunner {
  /** Never throws for a failing program: a missing one is exit code 127, a timeout 124. */
  run(argv: readonly string[], opts?: RunOptions): Promise<CommandResult>;
}

export const EXIT_TIMEOUT = 124;
export const EXIT_NOT_FOUND = 127;
