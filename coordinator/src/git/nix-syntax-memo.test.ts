// validatePushedTree with a NixSyntaxMemo: the real nix-instantiate behind a wrapper that records what it was given.
import { chmod, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NixSyntaxMemo } from "./nix-syntax-memo.js";
import { homelabFiles, tempDir } from "./test-fixtures.js";
import { validatePushedTree } from "./validate-pushed-tree.js";

let dir: string;
let wrapper: string;
beforeEach(async () => {
  dir = await tempDir("nix-memo");
  wrapper = join(dir, "nix-instantiate");
  await writeFile(wrapper, `#!/bin/sh\nfor a in "$@"; do case "$a" in *.nix|-) echo x >> "${join(dir, "files")}";; esac; done\nexec nix-instantiate "$@"\n`);
  await chmod(wrapper, 0o755);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** How many .nix files the wrapper was handed since the last call. */
async function parsedSince(): Promise<number> {
  const text = await readFile(join(dir, "files"), "utf8").catch(() => "");
  await rm(join(dir, "files"), { force: true });
  return text.split("\n").filter((l) => l === "x").length;
}

describe("NixSyntaxMemo", () => {
  it("parses a .nix text once: an unchanged push parses nothing, an edit parses only that file, an error every time", async () => {
    const files = await homelabFiles();
    const nixCount = [...files.keys()].filter((p) => p.endsWith(".nix")).length;
    const memo = new NixSyntaxMemo();
    const check = (f: typeof files) => validatePushedTree(f, { knownSecrets: new Set(["k3s-token"]), nixMemo: memo, nix: { nixInstantiate: wrapper } });

    expect((await check(files)).ok).toBe(true);
    expect(await parsedSince()).toBe(nixCount);
    expect((await check(files)).ok).toBe(true);
    expect(await parsedSince()).toBe(0);

    const edited = new Map(files).set("nodes/n5.nix", `${files.get("nodes/n5.nix")!}# edited\n`);
    expect((await check(edited)).ok).toBe(true);
    expect(await parsedSince()).toBe(1);

    const broken = new Map(edited).set("nodes/n5.nix", "{ config, ... }:\n{\n  networking.hostName = ;\n}\n");
    for (let i = 0; i < 2; i++) {
      const result = await check(broken);
      expect(result.lines).toContain("nodes/n5.nix:3:25 invalid Nix: syntax error, unexpected ';'");
      expect(await parsedSince()).toBe(1);
    }
    // Only the last tree's texts are kept: the first n5.nix is parsed again when it comes back.
    expect((await check(files)).ok).toBe(true);
    expect(await parsedSince()).toBe(1);
  }, 60_000);
});
