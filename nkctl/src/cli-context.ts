// What every command reads and writes: output streams, stdin, environment, clock and the exit code.
import { homedir } from "node:os";

/** table and wide (more columns) for humans; json and yaml for scripts. */
export type OutputFormat = "table" | "wide" | "json" | "yaml";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "wide", "json", "yaml"];

export interface TextSink {
  write(text: string): unknown;
  /** A terminal: --watch redraws in place there. */
  readonly isTTY?: boolean;
}

export interface CliContext {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly home: string;
  readonly now: () => number;
  /** Aborted on Ctrl-C, so streams (events -f) end cleanly. */
  readonly signal: AbortSignal;
  /** Set by a command that ends cleanly on `signal` (events -f); otherwise Ctrl-C exits at once with 130. */
  handlesInterrupt: boolean;
  /** Set by commands that finish with a documented non-zero code (e.g. validate → 1 on errors). */
  exitCode: number;
}

/** Options every command accepts (defined on the program, read with optsWithGlobals). */
export interface GlobalOptions {
  readonly output: OutputFormat;
  readonly coordinator?: string;
  readonly tokenFile?: string;
  readonly caFile?: string;
  readonly insecure?: boolean;
}

export function processContext(signal: AbortSignal): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    home: homedir(),
    now: () => Date.now(),
    signal,
    handlesInterrupt: false,
    exitCode: 0,
  };
}
