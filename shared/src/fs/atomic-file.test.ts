// The atomic writer: exact content and mode, replacement in place, nothing left behind on failure, stale temps swept.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { removeStaleTemps, writeFileAtomic } from "./atomic-file.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-atomic-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeFileAtomic", () => {
  it("replaces a file with exactly the new content and mode, leaving no temp file", async () => {
    const path = join(dir, "state.json");
    await writeFile(path, "old", { mode: 0o666 });
    await writeFileAtomic(path, "new\n", 0o600);
    expect(await readFile(path, "utf8")).toBe("new\n");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await writeFileAtomic(path, Buffer.from("bytes"), 0o644, { durable: false });
    expect(await readFile(path, "utf8")).toBe("bytes");
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect(await readdir(dir)).toEqual(["state.json"]);
  });

  it("fails with the path in the message and cleans up when the target cannot be replaced", async () => {
    const path = join(dir, "sub");
    await writeFile(join(dir, "keep"), "x");
    // A directory in the way: the rename fails after the temp file was written.
    await mkdir(join(path, "inner"), { recursive: true });
    await expect(writeFileAtomic(path, "data")).rejects.toThrow(`cannot write ${path}`);
    expect((await readdir(dir)).sort()).toEqual(["keep", "sub"]);
  });

  it("sweeps only the temp files of the file it is asked about", async () => {
    await writeFile(join(dir, "state.json.tmp-123-abcd"), "half");
    await writeFile(join(dir, "secrets.json.tmp-9-ffff"), "half");
    await writeFile(join(dir, "state.json"), "whole");
    await removeStaleTemps(dir, "state.json");
    expect((await readdir(dir)).sort()).toEqual(["secrets.json.tmp-9-ffff", "state.json"]);
  });
});
