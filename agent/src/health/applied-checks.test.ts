// AppliedChecks: the applied bundle's node checks survive a newer desired bundle and an agent restart.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AppliedChecks } from "./applied-checks.js";

const DISK = { name: "disk", command: ["test", "-e", "/dev/sda"], expect: "", timeoutMs: 10_000 };

describe("AppliedChecks", () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "nk-applied-checks-"));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("keeps the applied bundle's checks when a newer bundle arrives, and forgets older ones", async () => {
    const checks = new AppliedChecks(root);
    checks.remember("aaa", [DISK], undefined);
    checks.remember("bbb", [], "aaa");
    expect(await checks.of("aaa")).toEqual([DISK]);
    expect(await checks.of("bbb")).toEqual([]);
    // Once bbb is applied, a third bundle drops aaa (nothing on disk either).
    checks.remember("ccc", [DISK], "bbb");
    expect(await checks.of("aaa")).toEqual([]);
    expect(await checks.of("ccc")).toEqual([DISK]);
  });

  it("reads the checks of a bundle applied before the agent started from its nk/checks.json", async () => {
    await mkdir(join(root, "aaa", "nk"), { recursive: true });
    await writeFile(join(root, "aaa", "nk", "checks.json"), JSON.stringify({ node: [{ name: "disk", command: ["test", "-e", "/dev/sda"], expect: "", timeoutSeconds: 10 }], cluster: [] }));
    const checks = new AppliedChecks(root);
    checks.remember("bbb", [], "aaa");
    expect(await checks.of("aaa")).toEqual([DISK]);
    expect(await checks.of(undefined)).toEqual([]);
    expect(await checks.of("missing")).toEqual([]);
  });
});
