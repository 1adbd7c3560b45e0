// Runs the real nkctl binary (bin/nkctl.js) as its own process: exit code, stdout and stderr, optional stdin.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./repo-root.js";

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface NkctlRun {
  /** Connection flags (--coordinator, --ca-file, --token-file) put before `args`. */
  readonly flags: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Written to nkctl's stdin (e.g. a secret value); without it stdin is closed. */
  readonly stdin?: string;
}

export function runNkctl(args: readonly string[], run: NkctlRun): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "bin/nkctl.js"), ...run.flags, ...args], { env: run.env, stdio: [run.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    if (run.stdin !== undefined) child.stdin!.end(run.stdin);
  });
}
