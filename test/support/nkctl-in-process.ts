// Runs an nkctl command line inside the test process (runCli, the code bin/nkctl.js runs, with a captured context):
// for tests about what a command prints and its exit code, without a Node start and module load per command (about
// 0.7 s of CPU each). The real binary's process wiring stays covered by nkctl-offline.test.ts and the --watch test.
import { PassThrough } from "node:stream";
import { runCli } from "../../nkctl/src/run-cli.js";
import type { CliContext } from "../../nkctl/src/cli-context.js";
import type { CliResult, NkctlRun } from "./nkctl-runner.js";

export async function runNkctlInProcess(args: readonly string[], run: NkctlRun): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const stdin = new PassThrough();
  stdin.end(run.stdin ?? "");
  const ctx: CliContext = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin,
    env: run.env,
    cwd: process.cwd(),
    home: run.env.HOME ?? "/nonexistent",
    now: () => Date.now(),
    signal: new AbortController().signal,
    handlesInterrupt: false,
    exitCode: 0,
  };
  const code = await runCli(["node", "nkctl", ...run.flags, ...args], ctx);
  return { code, stdout, stderr };
}
