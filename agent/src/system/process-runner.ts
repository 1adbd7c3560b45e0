// CommandRunner over child_process.spawn: no shell, bounded output, timeouts and abort.
import { spawn } from "node:child_process";
import { EXIT_NOT_FOUND, EXIT_TIMEOUT, type CommandResult, type CommandRunner, type RunOptions } from "./command-runner.js";

/** Keep the tail of long outputs (build logs): the end is where the error is. */
const MAX_OUTPUT = 1024 * 1024;
const KILL_GRACE_MS = 5_000;

function tail(chunks: Buffer[]): string {
  const all = Buffer.concat(chunks);
  return (all.length > MAX_OUTPUT ? all.subarray(all.length - MAX_OUTPUT) : all).toString("utf8");
}

export class ProcessRunner implements CommandRunner {
  /** `env`: the environment every command gets (default: the agent's own), e.g. another machine's Nix configuration. */
  constructor(private readonly env?: NodeJS.ProcessEnv) {}

  run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (file === undefined) return Promise.resolve({ exitCode: EXIT_NOT_FOUND, stdout: "", stderr: "empty argv" });
    opts.signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { cwd: opts.cwd, env: this.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outLen = 0;
      let errLen = 0;
      // Trim to the tail once well past the limit, so a chatty build cannot grow memory without bound.
      const keep = (list: Buffer[], chunk: Buffer, len: number): number => {
        list.push(chunk);
        len += chunk.length;
        if (len <= 2 * MAX_OUTPUT) return len;
        const rest = Buffer.concat(list).subarray(len - MAX_OUTPUT);
        list.splice(0, list.length, rest);
        return rest.length;
      };
      child.stdout.on("data", (c: Buffer) => (outLen = keep(out, c, outLen)));
      child.stderr.on("data", (c: Buffer) => (errLen = keep(err, c, errLen)));
      let timedOut = false;
      let killTimer: NodeJS.Timeout | undefined;
      const kill = (): void => {
        child.kill("SIGTERM");
        killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
        killTimer.unref();
      };
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), kill()), opts.timeoutMs);
      const onAbort = (): void => kill();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const done = (): void => {
        if (timer) clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        opts.signal?.removeEventListener("abort", onAbort);
      };
      child.on("error", (e: NodeJS.ErrnoException) => {
        done();
        if (opts.signal?.aborted) return reject(opts.signal.reason);
        resolve({ exitCode: e.code === "ENOENT" ? EXIT_NOT_FOUND : 126, stdout: "", stderr: `${file}: ${e.message}` });
      });
      child.on("close", (code, signal) => {
        done();
        if (opts.signal?.aborted) return reject(opts.signal.reason);
        const exitCode = timedOut ? EXIT_TIMEOUT : (code ?? (signal ? 128 : 1));
        resolve({ exitCode, stdout: tail(out), stderr: tail(err) + (timedOut ? `\n${file}: timed out after ${opts.timeoutMs} ms` : "") });
      });
    });
  }
}
