// simple-git for the coordinator's porcelain that prints (rev-parse, log, config listing; a test's clone), with the same clean
// environment as every git it runs. Commands that print nothing on a push's path or at start (the upstream fetch, init,
// config writes, housekeeping) go through runGit: simple-git waits 50 ms more after a command that printed nothing.
import { GitError, simpleGit, type SimpleGit } from "simple-git";
import { NkError } from "../../../shared/src/errors/index.js";
import { gitBaseEnv } from "./git-exec.js";

// What stays on git itself (git-exec.ts and git-http.ts), because simple-git cannot do it:
// - git-http-backend, the smart HTTP server (a CGI program, not a client command);
// - cat-file --batch and ls-tree -z, whose output is raw object bytes (simple-git decodes text);
// - fast-import, mktree and commit-tree -F -, which read the objects they write from stdin per call
//   (simple-git has stdin only as an instance-wide plugin, not per command);
// - update-ref with an expected old value (a compare-and-swap of main; plumbing with no simple-git task).

export interface PorcelainOptions {
  /** Folder git runs in; must exist. Default the folder above gitDir. */
  readonly baseDir: string;
  /** GIT_DIR of a bare repo. */
  readonly gitDir?: string;
  /** Extra environment (quarantine object dirs of a push, GIT_CONFIG_* settings kept off the command line). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * A simple-git client. simple-git refuses GIT_* variables and config keys that could run programs
 * unless they are allowed: every variable here is set by the coordinator itself (no user config,
 * no prompt, an empty credential helper), so each one it sets is allowed by name.
 */
export function gitPorcelain(options: PorcelainOptions): SimpleGit {
  const env = gitBaseEnv({ ...(options.gitDir ? { GIT_DIR: options.gitDir } : {}), ...options.env });
  return simpleGit({
    baseDir: options.baseDir,
    allowEnvironment: Object.keys(env).filter((k) => k.startsWith("GIT_")),
    unsafe: {
      allowUnsafeConfigPaths: true,
      allowUnsafeConfigEnvCount: true,
      allowUnsafeCredentialHelper: true,
      allowUnsafeHooksPath: true,
      allowUnsafeProtocolOverride: true,
      // The upstream's credentials from files (upstream-credentials.ts): nk's own askpass script and ssh command line.
      allowUnsafeAskPass: env.GIT_ASKPASS !== undefined,
      allowUnsafeSshCommand: env.GIT_SSH_COMMAND !== undefined,
    },
    // Killed after this long without output (simple-git's block timeout).
    timeout: { block: 60_000 },
  }).env(env);
}

/** The last lines git printed for a failed command, as the coordinator reports git failures. */
export function gitFailure(what: string, err: unknown): NkError {
  const message = err instanceof Error ? err.message : String(err);
  const tail = message.trim().split("\n").slice(-3).join(" ");
  if (err instanceof GitError && /timeout/i.test(message)) return new NkError("UNAVAILABLE", `git ${what} timed out`, { cause: err });
  if (/ENOENT/.test(message)) return new NkError("UNAVAILABLE", `cannot run git: ${tail}`, { cause: err });
  return new NkError("IO", `git ${what} failed: ${tail}`, { cause: err });
}

/** Runs `task`, turning a git failure into the coordinator's NkError. */
export async function porcelain<T>(what: string, task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (err) {
    throw gitFailure(what, err);
  }
}
