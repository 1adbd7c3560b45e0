// nkctl pin end to end with real Nix: a local git repo stands in for a channel; unlocked -> locked -> --update after a new commit.
import { execFile, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIX_FLAGS } from "../../nkctl/src/nix-flake.js";
import { REPO } from "./nix-eval.js";

const run = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "ch", GIT_AUTHOR_EMAIL: "ch@example.invalid", GIT_COMMITTER_NAME: "ch", GIT_COMMITTER_EMAIL: "ch@example.invalid", GIT_CONFIG_GLOBAL: "/dev/null" };

const nixMissing = spawnSync("nix", ["--version"]).status !== 0;

async function nkctl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO, "bin/nkctl.js"), ...args], { cwd: REPO, env: { ...process.env, XDG_CONFIG_HOME: "/nonexistent" } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A git repo with a flake, committed; returns HEAD. */
async function commit(dir: string, flake: string, message: string): Promise<string> {
  writeFileSync(join(dir, "flake.nix"), flake);
  await run("git", ["-C", dir, "add", "-A"], { env: GIT_ENV });
  await run("git", ["-C", dir, "commit", "-q", "-m", message], { env: GIT_ENV });
  return (await run("git", ["-C", dir, "rev-parse", "HEAD"])).stdout.trim();
}

describe("nkctl pin with real Nix", () => {
  let tmp = "";
  let channel = "";
  let nkRepo = "";
  let checkout = "";
  let firstRev = "";
  let nkRev = "";
  const channelUrl = (): string => `git+file://${channel}?ref=main`;
  const nkUrl = (): string => `git+file://${nkRepo}?ref=main`;

  beforeAll(async () => {
    if (nixMissing) throw new Error("nix is not installed: these tests drive the real Nix (Debian: apt-get install nix-bin)");
    tmp = mkdtempSync(join(tmpdir(), "nk-pin-"));
    channel = join(tmp, "channel");
    nkRepo = join(tmp, "nk");
    for (const d of [channel, nkRepo]) {
      mkdirSync(d);
      await run("git", ["-C", d, "init", "-q", "-b", "main"], { env: GIT_ENV });
    }
    firstRev = await commit(channel, "{ outputs = _: { lib.version = \"1\"; }; }\n", "channel: first");
    // Like nk's own flake: a nixpkgs input, which the bundles make follow theirs.
    nkRev = await commit(nkRepo, '{ inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11"; outputs = { self, nixpkgs }: { nixosModules.agent = { }; }; }\n', "nk");
    checkout = join(tmp, "inventory");
    cpSync(join(REPO, "examples/homelab"), checkout, { recursive: true });
    rmSync(join(checkout, "nk.lock"));
    const yaml = readFileSync(join(checkout, "inventory.yaml"), "utf8")
      .replace("nixpkgs: { channel: nixos-24.11 }", `nixpkgs: { flake: "${channelUrl()}" }\n  state_version: "24.11"\n  agent: { flake: "${nkUrl()}", version: 0.1.0 }`);
    writeFileSync(join(checkout, "inventory.yaml"), yaml);
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("refuses the unlocked inventory, locks it, and the rendered flake.lock is what Nix itself writes", async () => {
    const before = await nkctl(["validate", checkout]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(`inventory.yaml:4:12 cluster.nixpkgs: "${channelUrl()}" is not locked (there is no nk.lock): run nkctl pin\n`);

    const pinned = await nkctl(["pin", checkout]);
    expect(pinned.stderr).toBe("");
    expect(pinned.stdout).toBe(`nixpkgs ${channelUrl()}: not locked -> ${firstRev.slice(0, 12)}\nnk ${nkUrl()}: not locked -> ${nkRev.slice(0, 12)}\nwrote ${join(checkout, "nk.lock")}\n`);
    const lock = JSON.parse(readFileSync(join(checkout, "nk.lock"), "utf8")) as { locks: Record<string, { locked: Record<string, unknown>; original: Record<string, unknown> }> };
    expect(lock.locks[channelUrl()]!.locked).toMatchObject({ type: "git", rev: firstRev, ref: "main", url: `file://${channel}` });
    expect(lock.locks[channelUrl()]!.original).toEqual({ type: "git", ref: "main", url: `file://${channel}` });
    expect(await nkctl(["validate", checkout])).toMatchObject({ code: 0 });

    // The bundle's flake.lock is accepted as it is: Nix locks the bundle without touching a byte.
    const out = join(tmp, "bundles");
    expect((await nkctl(["render", checkout, "--node", "n1", "--out", out])).code).toBe(0);
    const bundle = join(out, "n1");
    const rendered = readFileSync(join(bundle, "flake.lock"), "utf8");
    await run("nix", [...NIX_FLAGS, "flake", "metadata", "--json", "--no-update-lock-file", `path:${bundle}`]);
    await run("nix", [...NIX_FLAGS, "flake", "lock", `path:${bundle}`]);
    expect(readFileSync(join(bundle, "flake.lock"), "utf8")).toBe(rendered);
    expect(JSON.parse(rendered).nodes.nixpkgs.locked.rev).toBe(firstRev);
  }, 120_000);

  it("keeps the lock while the channel moves, and --update nixpkgs moves it to the new commit", async () => {
    const secondRev = await commit(channel, "{ outputs = _: { lib.version = \"2\"; }; }\n", "channel: second");
    const again = await nkctl(["pin", checkout]);
    expect(again.stdout).toContain(`nixpkgs ${channelUrl()}: ${firstRev.slice(0, 12)} (unchanged)\n`);

    const updated = await nkctl(["pin", checkout, "--update", "nixpkgs"]);
    expect(updated.stdout).toBe(`nixpkgs ${channelUrl()}: ${firstRev.slice(0, 12)} -> ${secondRev.slice(0, 12)}\nnk ${nkUrl()}: ${nkRev.slice(0, 12)} (unchanged)\nwrote ${join(checkout, "nk.lock")}\n`);
    const lock = JSON.parse(readFileSync(join(checkout, "nk.lock"), "utf8")) as { locks: Record<string, { locked: { rev: string; narHash: string } }> };
    expect(lock.locks[channelUrl()]!.locked.rev).toBe(secondRev);
    const meta = JSON.parse((await run("nix", [...NIX_FLAGS, "flake", "metadata", "--json", `git+file://${channel}?ref=main&rev=${secondRev}`])).stdout) as { locked: { narHash: string } };
    expect(lock.locks[channelUrl()]!.locked.narHash).toBe(meta.locked.narHash);
    expect(await nkctl(["pin", checkout, "--update", "nixos"])).toMatchObject({ code: 2, stderr: 'nkctl: --update takes nixpkgs or nk, not "nixos"\n' });
  }, 120_000);
});
