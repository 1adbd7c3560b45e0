// The nk source the coordinator serves: its NAR hash equals Nix's, and real Nix fetches and locks the tarball from 127.0.0.1.
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServedSource, memoized, narHash, nkSourcePlugin, type ServedSource } from "../../coordinator/src/nk-source/index.js";
import { NIX_FLAGS } from "../../nkctl/src/nix-flake.js";
import { REPO } from "./nix-eval.js";

const run = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "ch", GIT_AUTHOR_EMAIL: "ch@example.invalid", GIT_COMMITTER_NAME: "ch", GIT_COMMITTER_EMAIL: "ch@example.invalid", GIT_CONFIG_GLOBAL: "/dev/null" };
const nixMissing = spawnSync("nix", ["--version"]).status !== 0;

function nkctl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO, "bin/nkctl.js"), ...args], { cwd: REPO, env: { ...process.env, XDG_CONFIG_HOME: "/nonexistent" } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("the served nk source with real Nix", () => {
  let tmp = "";
  let app: FastifyInstance;
  let base = "";
  let source: ServedSource;
  let channel = "";

  beforeAll(async () => {
    if (nixMissing) throw new Error("nix is not installed: these tests drive the real Nix (Debian: apt-get install nix-bin)");
    tmp = mkdtempSync(join(tmpdir(), "nk-source-"));
    source = await loadServedSource(REPO);
    app = Fastify();
    await app.register(nkSourcePlugin({ source: memoized(() => loadServedSource(REPO)), publicUrl: () => base }));
    await app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    // A local channel: nk's own nixpkgs input is overridden with it, as bundles make it follow theirs.
    channel = join(tmp, "channel");
    mkdirSync(channel);
    writeFileSync(join(channel, "flake.nix"), "{ outputs = _: { }; }\n");
    await run("git", ["-C", channel, "init", "-q", "-b", "main"], { env: GIT_ENV });
    await run("git", ["-C", channel, "add", "-A"], { env: GIT_ENV });
    await run("git", ["-C", channel, "commit", "-q", "-m", "c"], { env: GIT_ENV });
  });

  afterAll(async () => {
    await app?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("hashes a tree exactly as nix hash path does: nesting, byte order of names, executables, empty files", async () => {
    const files = [
      { path: "b/x.txt", content: Buffer.from("x\n"), executable: false },
      { path: "a-b", content: Buffer.from(""), executable: false },
      { path: "a/z", content: Buffer.from("#!/bin/sh\n"), executable: true },
      { path: "a/Y", content: Buffer.alloc(13, 7), executable: false },
    ];
    const dir = join(tmp, "tree");
    for (const f of files) {
      mkdirSync(join(dir, f.path, ".."), { recursive: true });
      writeFileSync(join(dir, f.path), f.content);
      chmodSync(join(dir, f.path), f.executable ? 0o755 : 0o644);
    }
    const { stdout } = await run("nix", [...NIX_FLAGS, "hash", "path", "--type", "sha256", "--base64", dir]);
    expect(narHash(files)).toBe(`sha256-${stdout.trim()}`);
  });

  it("serves a deterministic tarball that Nix fetches and locks to the narHash the coordinator states", async () => {
    expect((await loadServedSource(REPO)).tarball.equals(source.tarball)).toBe(true);
    const about = (await app.inject({ method: "GET", url: "/nk/source" })).json<{ url: string; narHash: string; version: string }>();
    expect(about).toEqual({ url: `${base}/nk/source/${source.fileName}`, narHash: source.narHash, version: source.version });
    expect((await app.inject({ method: "GET", url: "/nk/source/nk-0.0.0-000000000000.tar.gz" })).json()).toEqual({
      error: { code: "NOT_FOUND", message: `this coordinator serves only ${about.url} (nk ${source.version}): run nkctl pin --update nk` },
    });

    const meta = JSON.parse((await run("nix", [...NIX_FLAGS, "flake", "metadata", "--json", "--no-write-lock-file", "--override-input", "nixpkgs", `git+file://${channel}`, about.url])).stdout) as {
      locked: Record<string, unknown>;
      original: Record<string, unknown>;
      path: string;
    };
    expect(meta.locked).toEqual({ narHash: about.narHash, type: "tarball", url: about.url });
    expect(meta.original).toEqual({ type: "tarball", url: about.url });
    expect(readFileSync(join(meta.path, "flake.nix"), "utf8")).toBe(readFileSync(join(REPO, "flake.nix"), "utf8"));
  }, 120_000);

  it("nkctl pin --nk-source locks it, and a bundle that imports it is accepted by Nix as rendered", async () => {
    const checkout = join(tmp, "inventory");
    cpSync(join(REPO, "examples/homelab"), checkout, { recursive: true });
    rmSync(join(checkout, "nk.lock"));
    const yaml = readFileSync(join(checkout, "inventory.yaml"), "utf8").replace("nixpkgs: { channel: nixos-24.11 }", `nixpkgs: { flake: "git+file://${channel}?ref=main" }\n  state_version: "24.11"`);
    writeFileSync(join(checkout, "inventory.yaml"), yaml);
    const url = `${base}/nk/source/${source.fileName}`;
    const pinned = await nkctl(["pin", checkout, "--nk-source", url]);
    expect(pinned.stdout).toContain(`nk ${url}: not locked -> ${source.narHash}\n`);
    const lock = JSON.parse(readFileSync(join(checkout, "nk.lock"), "utf8")) as { nk_source: string; locks: Record<string, { locked: unknown }> };
    expect(lock.nk_source).toBe(url);
    expect(lock.locks[url]!.locked).toEqual({ narHash: source.narHash, type: "tarball", url });

    const out = join(tmp, "bundles");
    expect((await nkctl(["render", checkout, "--node", "n4", "--out", out])).code).toBe(0);
    const bundle = join(out, "n4");
    expect(readFileSync(join(bundle, "flake.nix"), "utf8")).toContain(`nk.url = "${url}";`);
    const rendered = readFileSync(join(bundle, "flake.lock"), "utf8");
    await run("nix", [...NIX_FLAGS, "flake", "metadata", "--json", "--no-update-lock-file", `path:${bundle}`]);
    expect(readFileSync(join(bundle, "flake.lock"), "utf8")).toBe(rendered);
  }, 120_000);
});
