// ProcessRunner against real short-lived node processes: exit codes, output, timeouts, abort, missing programs.
import { describe, expect, it } from "vitest";
import { EXIT_NOT_FOUND, EXIT_TIMEOUT } from "./command-runner.js";
import { ProcessRunner } from "./process-runner.js";

const node = (code: string): string[] => [process.execPath, "-e", code];
const runner = new ProcessRunner();

describe("ProcessRunner", () => {
  it("returns exit code, stdout and stderr", async () => {
    const r = await runner.run(node("process.stdout.write('out'); process.stderr.write('err'); process.exit(3)"));
    expect(r).toEqual({ exitCode: 3, stdout: "out", stderr: "err" });
  });

  it("runs in the given directory", async () => {
    const r = await runner.run(node("process.stdout.write(process.cwd())"), { cwd: "/" });
    expect(r.stdout).toBe("/");
  });

  it("reports a missing program as 127 instead of throwing", async () => {
    const r = await runner.run(["/nonexistent/nk-no-such-program"]);
    expect(r.exitCode).toBe(EXIT_NOT_FOUND);
  });

  it("kills a program that runs past its timeout", async () => {
    const r = await runner.run(node("setTimeout(() => {}, 60000)"), { timeoutMs: 200 });
    expect(r.exitCode).toBe(EXIT_TIMEOUT);
    expect(r.stderr).toContain("timed out after 200 ms");
  });

  it("kills the program and rejects on abort", async () => {
    const ac = new AbortController();
    const pending = runner.run(node("setTimeout(() => {}, 60000)"), { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("stop")), 100);
    await expect(pending).rejects.toThrow("stop");
  });
});
