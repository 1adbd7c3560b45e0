// Runs one git command against the coordinator's repo and collects its output (bounded, with a timeout).
import { spawn } from "node:child_process";
import { NkError } from "../../../shared/src/errors/index.js";

export interface GitExecOptions {
  /** GIT_DIR of the repo; omitted for commands such as `git init` that take a path. */
  readonly gitDir?: string;
  /** Extra environment, e.g. the quarantine object directories of a push in progress. */
  readonly env?: Readonly<Record<string, string>>;
  /** Folder git runs in (a relative path or URL it is given is taken from there); default the coordinator's own. */
  readonly cwd?: string;
  /**
   * Runs git in a process group of its own, and a timeout ends the whole group (SIGTERM, then SIGKILL after 2 s): a
   * fetch's remote helper or ssh, or gc's repack, holds git's output pipes, so killing git alone left the call waiting
   * for them, for good with a server that stalls.
   */
  readonly ownProcessGroup?: boolean;
  /** Written to stdin, then stdin is closed. */
  readonly input?: string | Buffer;
  /** Default 60 s; the process is killed after it. */
  readonly timeoutMs?: number;
  /** Exit codes that are expected outcomes rather than failures (e.g. 1 from `rev-parse --verify --quiet`). */
  readonly okCodes?: readonly number[];
  /** Most stdout bytes collected (default 64 MiB); beyond it git is killed and the call fails with TOO_LARGE. */
  readonly maxOutputBytes?: number;
}

export interface GitExecResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

const MAX_STDERR = 64 * 1024;
/** Nothing nk asks git for is this large; a repo that makes it so is hostile or broken. */
export const DEFAULT_MAX_GIT_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * The environment every git process gets: no prompts, no user or system config that could change
 * behaviour (hooks path, aliases, credential helpers), and a fixed locale for parseable messages.
 */
export function gitBaseEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/",
    LANG: "C",
    LC_ALL: "C",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    ...extra,
  };
}

export function runGit(args: readonly string[], options: GitExecOptions = {}): Promise<GitExecResult> {
  const env = gitBaseEnv({ ...(options.gitDir ? { GIT_DIR: options.gitDir } : {}), ...options.env });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_GIT_OUTPUT_BYTES;
  return new Promise((resolve, reject) => {
    const group = options.ownProcessGroup === true;
    const child = spawn("git", args, { env, stdio: ["pipe", "pipe", "pipe"], detached: group, ...(options.cwd !== undefined && { cwd: options.cwd }) });
    const out: Buffer[] = [];
    let outBytes = 0;
    let overflowed = false;
    let stderr = "";
    let timedOut = false;
    const signal = (name: NodeJS.Signals): void => {
      try {
        if (group && child.pid !== undefined) process.kill(-child.pid, name);
        else child.kill(name);
      } catch {
        // Gone already.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      if (!group) return signal("SIGKILL");
      // SIGTERM first: git removes its lock and .keep files on it.
      signal("SIGTERM");
      setTimeout(() => signal("SIGKILL"), 2_000).unref();
    }, timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      if (overflowed) return;
      outBytes += chunk.length;
      if (outBytes <= maxOutputBytes) return void out.push(chunk);
      // Stop collecting at once: what git would still print is dropped, not held.
      overflowed = true;
      out.length = 0;
      signal("SIGKILL");
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < MAX_STDERR) stderr += chunk;
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new NkError("UNAVAILABLE", `cannot run git: ${err.message}`, { cause: err }));
    });
    let settled = false;
    const finish = (code: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const result = { code: code ?? -1, stdout: Buffer.concat(out), stderr };
      if (overflowed) reject(new NkError("TOO_LARGE", `git ${args[0]} printed more than ${maxOutputBytes} bytes; nk reads no more than that`));
      else if (timedOut) reject(new NkError("UNAVAILABLE", `git ${args[0]} timed out after ${timeoutMs} ms`));
      else if (result.code === 0 || options.okCodes?.includes(result.code)) resolve(result);
      else reject(new NkError("IO", `git ${args.join(" ")} failed (${result.code}): ${stderr.trim().split("\n").slice(-3).join(" ")}`));
    };
    child.on("close", finish);
    // A timed-out group settles once git itself exits: what it started may hold the pipes a while longer.
    child.on("exit", (code) => {
      if (timedOut && group) finish(code);
    });
    // EPIPE when git exits before reading all input; the exit status tells the story.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** stdout as trimmed text. */
export async function gitText(args: readonly string[], options: GitExecOptions = {}): Promise<string> {
  return (await runGit(args, options)).stdout.toString("utf8").trim();
}
