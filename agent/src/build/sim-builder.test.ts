// The simulated builder and cache behave as the real ones: the fetched system is what a local build gives, signatures are checked.
import { mkdir, mkdtemp, readdir, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bundleSha256, type BundleFile } from "../../../shared/src/render/index.js";
import { writeFaults } from "../system/sim-faults.js";
import { SimSystem } from "../system/sim-system.js";
import { SimBuilder } from "./sim-builder.js";

const KEY = "cache-1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const FILES: BundleFile[] = [
  { path: "flake.nix", content: '{ inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11"; }\n' },
  { path: "nk/k3s.nix", content: '{ services.k3s.role = "server"; }\n' },
];

describe("SimBuilder and SimSystem.fetch", () => {
  let dir = "";
  let cacheUrl = "";
  let node: SimSystem;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-simbuild-"));
    cacheUrl = pathToFileURL(join(dir, "cache")).href;
    node = await SimSystem.open({ dir: join(dir, "n1"), node: "n1", timeScale: 0 });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const job = { node: "n1", revision: "r1", bundleSha256: bundleSha256(FILES), files: FILES };

  it("builds what the node's own build would, and the node fetches it, rooted and ready to switch to", async () => {
    const built = await new SimBuilder({ dir: join(dir, "builder"), publicKey: KEY, timeScale: 0 }).build({ ...job, cacheUrl });
    if (!built.ok) throw new Error(built.error);
    await node.writeBundle(join(dir, "local"), FILES);
    const local = await node.build(join(dir, "local"), "n1");
    expect(local).toMatchObject({ ok: true, systemPath: built.built.systemPath });
    const bundleDir = join(dir, "n1-bundle");
    expect(await node.fetch(bundleDir, built.built.systemPath, { url: cacheUrl, publicKey: KEY })).toMatchObject({ ok: true, systemPath: built.built.systemPath });
    expect(await readlink(join(bundleDir, "result"))).toBe(built.built.systemPath);
    // The boot paths the builder reported are the ones the node decides its reboot on.
    expect(await node.needsReboot(built.built.systemPath)).toBe(true);
  });

  it("refuses a system signed by another key, and one the cache does not have", async () => {
    const built = await new SimBuilder({ dir: join(dir, "builder"), publicKey: "rogue:AAAA", timeScale: 0 }).build({ ...job, cacheUrl });
    if (!built.ok) throw new Error(built.error);
    const sp = built.built.systemPath;
    expect(await node.fetch(join(dir, "b"), sp, { url: cacheUrl, publicKey: KEY })).toMatchObject({ ok: false, error: `refused ${sp} from ${cacheUrl}: not signed by the trusted key cache-1` });
    const other = sp.replace("/nix/store/", "/nix/store/0");
    expect(await node.fetch(join(dir, "b"), other.slice(0, other.length - 1), { url: cacheUrl, publicKey: KEY })).toMatchObject({ ok: false });
  });

  it("fails a build with the build-error fault and pushes nothing", async () => {
    await mkdir(join(dir, "builder"));
    await writeFaults(join(dir, "builder"), { [job.bundleSha256]: ["build-error"] });
    const built = await new SimBuilder({ dir: join(dir, "builder"), publicKey: KEY, timeScale: 0 }).build({ ...job, cacheUrl });
    expect(built).toMatchObject({ ok: false, error: "error: simulated build failure" });
    expect(await readdir(join(dir, "cache")).catch(() => [])).toEqual([]);
  });
});
