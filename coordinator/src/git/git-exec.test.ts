// runGit's timeout against a git whose child keeps its pipes open (a fetch's remote helper on a stalled server).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { runGit } from "./git-exec.js";

describe("runGit", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-git-exec-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("ends a timed-out git and everything it started, in its own process group, and says it timed out", async () => {
    // An alias run through the shell: git waits on `sh`, which waits on `sleep`; both hold git's stderr. Killing git
    // alone would leave the call waiting ten minutes for them (longer than this test may take).
    const hang = ["-c", "alias.hang=!sleep 600", "hang"];
    const err: unknown = await runGit(hang, { cwd: dir, timeoutMs: 300, ownProcessGroup: true }).catch((e: unknown) => e);
    expect(isNkError(err, "UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toBe("git -c timed out after 300 ms");
  });

  it("passes a failed command's exit code and stderr back when it is an expected outcome", async () => {
    const result = await runGit(["rev-parse", "--verify", "--quiet", "no-such-ref"], { cwd: dir, env: { GIT_DIR: join(dir, "none.git") }, okCodes: [1, 128] });
    expect([1, 128]).toContain(result.code);
  });
});
