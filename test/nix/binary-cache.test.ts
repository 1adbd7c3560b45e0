// Builders mode with real Nix: a builder builds a stand-in system, signs it and pushes it to a file:// cache; a node with
// its own store fetches it and verifies the signature; a closure signed by another key is refused.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildJob } from "../../agent/src/build/builder.js";
import { NixBuilder } from "../../agent/src/build/nix-builder.js";
import { fetchClosure } from "../../agent/src/system/nix-fetch.js";
import { REPO } from "./nix-eval.js";
import { nixMachine, type NixMachine } from "./nix-machine.js";

const nixMissing = spawnSync("nix", ["--version"]).status !== 0;
const FLAKE = readFileSync(join(REPO, "test/fixtures/builders/flake.nix"), "utf8");

/** A signing key pair made by Nix itself; the secret half only ever lands in a file. */
function keyPair(machine: NixMachine, name: string): { keyFile: string; publicKey: string } {
  const nix = (args: string[], input?: string): string => execFileSync("nix", ["--extra-experimental-features", "nix-command", ...args], { env: machine.env, input, encoding: "utf8" });
  const secret = nix(["key", "generate-secret", "--key-name", name]);
  const keyFile = join(machine.dir, `${name}.sk`);
  writeFileSync(keyFile, secret, { mode: 0o600 });
  return { keyFile, publicKey: nix(["key", "convert-secret-to-public"], secret).trim() };
}

function job(node: string, cacheUrl: string): BuildJob {
  return { node, revision: "r1", bundleSha256: `${node}`.padEnd(64, "0"), files: [{ path: "flake.nix", content: FLAKE }], cacheUrl };
}

describe("builder and binary cache with real Nix", () => {
  let tmp = "";
  let builder: NixMachine;
  let cacheUrl = "";
  let key = { keyFile: "", publicKey: "" };

  beforeAll(() => {
    if (nixMissing) throw new Error("nix is not installed: these tests drive the real Nix (Debian: apt-get install nix-bin)");
    tmp = mkdtempSync(join(tmpdir(), "nk-cache-"));
    builder = nixMachine(tmp, "builder");
    cacheUrl = `file://${join(tmp, "cache")}`;
    key = keyPair(builder, "cache-1");
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("builds, signs and pushes a node's system; the node fetches it with the trusted key and roots it", async () => {
    const nb = new NixBuilder({ runner: builder.runner, workDir: join(builder.dir, "work"), keyFile: key.keyFile });
    const r = await nb.build(job("a", cacheUrl));
    if (!r.ok) throw new Error(`${r.error}\n${r.log}`);
    const { systemPath, kernel, initrd, kernelModules } = r.built;
    expect(systemPath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-a$/);
    expect(kernel).toMatch(/^\/nix\/store\/[0-9a-z]{32}-linux-6\.6\.1\/bzImage$/);
    expect(initrd).toMatch(/^\/nix\/store\/[0-9a-z]{32}-initrd-linux-6\.6\.1\/initrd$/);
    expect(kernelModules).toBe(kernel!.replace("/bzImage", "/lib/modules"));
    // The cache holds the signed narinfo of every path of the closure; the secret key appears nowhere in it.
    const narinfo = readFileSync(join(tmp, "cache", `${systemPath.slice(11, 43)}.narinfo`), "utf8");
    expect(narinfo).toContain(`StorePath: ${systemPath}\n`);
    expect(narinfo).toMatch(/^Sig: cache-1:[A-Za-z0-9+/]{86}==$/m);
    expect(narinfo).toContain(`References: ${[kernel!, initrd!].map((p) => p.slice(11).split("/")[0]).sort().join(" ")}`);
    expect(r.log).not.toContain(readFileSync(key.keyFile, "utf8").trim().split(":")[1]);

    const node = nixMachine(tmp, "node-a");
    const bundleDir = join(node.dir, "bundle");
    const fetched = await fetchClosure(node.runner, bundleDir, systemPath, { url: cacheUrl, publicKey: key.publicKey });
    expect(fetched).toMatchObject({ ok: true, systemPath });
    // In the node's own store, with the kernel it points at, and rooted like a local build.
    expect(existsSync(join(node.root, systemPath, "bin/switch-to-configuration"))).toBe(true);
    expect(readlinkSync(join(node.root, systemPath, "kernel"))).toBe(kernel);
    expect(readFileSync(join(node.root, kernel!), "utf8")).toBe("kernel 6.6.1\n");
    expect(readlinkSync(join(bundleDir, "result"))).toBe(systemPath);
  }, 120_000);

  it("refuses a closure signed by a key the node does not trust, and leaves the store without it", async () => {
    const rogue = keyPair(builder, "rogue");
    const nb = new NixBuilder({ runner: builder.runner, workDir: join(builder.dir, "work-rogue"), keyFile: rogue.keyFile });
    const rogueCache = `file://${join(tmp, "rogue-cache")}`;
    const r = await nb.build(job("b", rogueCache));
    if (!r.ok) throw new Error(`${r.error}\n${r.log}`);
    const node = nixMachine(tmp, "node-b");
    const fetched = await fetchClosure(node.runner, join(node.dir, "bundle"), r.built.systemPath, { url: rogueCache, publicKey: key.publicKey });
    expect(fetched).toMatchObject({ ok: false, error: `refused ${r.built.systemPath} from ${rogueCache}: not signed by the trusted key cache-1` });
    expect(existsSync(join(node.root, r.built.systemPath))).toBe(false);
    expect(existsSync(join(node.dir, "bundle", "result"))).toBe(false);
  }, 120_000);

  it("refuses to sign with a key file others can read", async () => {
    chmodSync(key.keyFile, 0o644);
    try {
      const nb = new NixBuilder({ runner: builder.runner, workDir: join(builder.dir, "work-open"), keyFile: key.keyFile });
      await expect(nb.build(job("a", cacheUrl))).rejects.toThrow(`signing key file ${key.keyFile} is readable by others (mode 644): chmod 600 it`);
    } finally {
      chmodSync(key.keyFile, 0o600);
    }
  });
});
