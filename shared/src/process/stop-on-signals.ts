// A daemon's shutdown: the first SIGINT or SIGTERM stops it once, in order, then exits 0; later signals are ignored.
import type { Logger } from "pino";

export interface Stoppable {
  readonly log: Logger;
  stop(): Promise<void>;
}

/** Where the signals come from and how the process ends; the process itself unless a test passes its own. */
export interface SignalHost {
  on(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
  exit(code: number): void;
}

export function stopOnSignals(running: Stoppable, host: SignalHost = process): void {
  let stopping = false;
  const shutdown = (signal: string): void => {
    // systemd and an impatient operator may both signal: a second stop would close things twice.
    if (stopping) return;
    stopping = true;
    running.log.info({ signal }, "stopping");
    void running.stop().then(() => host.exit(0));
  };
  host.on("SIGINT", () => shutdown("SIGINT"));
  host.on("SIGTERM", () => shutdown("SIGTERM"));
}
