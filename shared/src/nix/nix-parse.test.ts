// parseNixFiles / parseNixSources against the real nix-instantiate: good files pass, bad ones say where and why.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNkError } from "../errors/index.js";
import { parseNixFiles, parseNixSources } from "./index.js";

describe("parseNixFiles", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-nix-parse-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reports each file in input order, with nix's location for syntax errors", async () => {
    const good = join(dir, "good.nix");
    const bad = join(dir, "bad.nix");
    const undef = join(dir, "undefined.nix");
    await writeFile(good, '{ lib, ... }: { imports = [ ./missing.nix ]; x = "${lib.version}"; }\n');
    await writeFile(bad, "{ a = 1;\n  b = ;\n}\n");
    await writeFile(undef, "{ a = notDefinedAnywhere; }\n");
    const results = await parseNixFiles([bad, good, undef, join(dir, "absent.nix")], { concurrency: 2 });
    expect(results.map((r) => [r.path, r.ok])).toEqual([
      [bad, false],
      [good, true],
      [undef, false],
      [join(dir, "absent.nix"), false],
    ]);
    expect(results[0]?.error).toMatch(/syntax error/);
    expect(results[0]?.error).toContain(`${bad}:2:`);
    expect(results[2]?.error).toMatch(/undefined variable 'notDefinedAnywhere'/);
    expect(results[1]?.error).toBeUndefined();
  });

  it("returns an empty list for no files", async () => {
    await expect(parseNixFiles([])).resolves.toEqual([]);
  });

  it("fails with UNAVAILABLE when nix-instantiate cannot be found", async () => {
    const err: unknown = await parseNixFiles([join(dir, "x.nix")], { nixInstantiate: "/nonexistent/nix-instantiate" }).catch((e: unknown) => e);
    expect(isNkError(err, "UNAVAILABLE")).toBe(true);
  });
});

describe("parseNixSources", () => {
  it("parses in-memory sources and names them in errors instead of «stdin»", async () => {
    const results = await parseNixSources([
      { name: "nodes/n1.nix", content: "{ config, ... }: { networking.firewall.enable = config.x; }\n" },
      { name: "common/broken.nix", content: "{ x = [ 1 2 ; }\n" },
      { name: "empty.nix", content: "" },
    ]);
    expect(results.map((r) => [r.path, r.ok])).toEqual([
      ["nodes/n1.nix", true],
      ["common/broken.nix", false],
      ["empty.nix", false],
    ]);
    expect(results[1]?.error).toContain("common/broken.nix:1:");
    expect(results[1]?.error).not.toContain("«stdin»");
  });

  it("parses many sources in batches, one process per batch, and names each broken one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-nix-batch-"));
    try {
      // A wrapper that counts its runs, in front of the real nix-instantiate.
      const log = join(dir, "runs.log");
      const wrapper = join(dir, "nix-instantiate");
      await writeFile(wrapper, `#!/bin/sh\necho run >> '${log}'\nexec nix-instantiate "$@"\n`, { mode: 0o755 });
      const runs = async (): Promise<number> => (await readFile(log, "utf8").catch(() => "")).split("\n").filter(Boolean).length;
      const good = Array.from({ length: 300 }, (_, i) => ({ name: `nodes/w${i}.nix`, content: `{ ... }: { boot.kernel.sysctl."vm.swappiness" = ${i}; }\n` }));
      const ok = await parseNixSources(good, { nixInstantiate: wrapper });
      expect(ok.every((r) => r.ok)).toBe(true);
      expect(ok.map((r) => r.path)).toEqual(good.map((s) => s.name));
      expect(await runs()).toBe(2);
      // A broken source in the second batch: that batch is parsed again source by source.
      const broken = good.map((s, i) => (i === 290 ? { name: s.name, content: "{ x = ; }\n" } : s));
      const results = await parseNixSources(broken, { nixInstantiate: wrapper });
      expect(results.filter((r) => !r.ok).map((r) => r.path)).toEqual(["nodes/w290.nix"]);
      expect(results[290]?.error).toContain("nodes/w290.nix:1:");
      expect(await runs()).toBe(2 + 1 + 1 + 44);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("leaves out nix's warnings about its own set-up, keeping only the error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-nix-warn-"));
    try {
      const wrapper = join(dir, "nix-instantiate");
      await writeFile(wrapper, `#!/bin/sh\necho "warning: the group 'nixbld' specified in 'build-users-group' does not exist" >&2\nexec nix-instantiate "$@"\n`, { mode: 0o755 });
      const [result] = await parseNixSources([{ name: "nodes/n1.nix", content: "{ x = ; }\n" }], { nixInstantiate: wrapper });
      expect(result?.error).toMatch(/^error: syntax error, unexpected ';'/);
      expect(result?.error).not.toContain("warning:");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("checks many sources with bounded concurrency", async () => {
    const sources = Array.from({ length: 12 }, (_, i) => ({ name: `f${i}.nix`, content: i === 7 ? "{" : `{ v = ${i}; }` }));
    const results = await parseNixSources(sources, { concurrency: 3 });
    expect(results.filter((r) => !r.ok).map((r) => r.path)).toEqual(["f7.nix"]);
    expect(results.map((r) => r.path)).toEqual(sources.map((s) => s.name));
  });
});
