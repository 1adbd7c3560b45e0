// The build step in builders mode: fetch the prebuilt system; fall back to building only where the node may.
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../shared/src/log/index.js";
import { bundleSha256, type BundleFile } from "../../../shared/src/render/index.js";
import { SimBuilder } from "../build/sim-builder.js";
import { SimSystem } from "../system/sim-system.js";
import type { Prebuilt } from "./agent-state.js";
import { obtainSystem } from "./obtain-system.js";

const KEY = "cache-1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const FILES: BundleFile[] = [{ path: "flake.nix", content: '{ inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11"; }\n' }];

describe("obtainSystem", () => {
  let dir = "";
  let sim: SimSystem;
  let prebuilt: Prebuilt;
  const bundleDir = (): string => join(dir, "bundle");

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-obtain-"));
    sim = await SimSystem.open({ dir: join(dir, "n1"), node: "n1", timeScale: 0 });
    const cacheUrl = pathToFileURL(join(dir, "cache")).href;
    const r = await new SimBuilder({ dir: join(dir, "builder"), publicKey: KEY, timeScale: 0 }).build({ node: "n1", revision: "r1", bundleSha256: bundleSha256(FILES), files: FILES, cacheUrl });
    if (!r.ok) throw new Error(r.error);
    prebuilt = { systemPath: r.built.systemPath, cacheUrl, cachePublicKey: KEY, fallbackLocal: true };
    await mkdir(bundleDir());
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("fetches the prebuilt system without building (no flake.nix needed on the node)", async () => {
    expect(await obtainSystem(sim, bundleDir(), "n1", prebuilt, silentLogger())).toMatchObject({ ok: true, systemPath: prebuilt.systemPath, log: expect.stringContaining("copying path") });
  });

  it("builds locally when the fetch fails and the node may fall back", async () => {
    await sim.writeBundle(bundleDir(), FILES);
    const r = await obtainSystem(sim, bundleDir(), "n1", { ...prebuilt, cachePublicKey: "other:AAAA" }, silentLogger());
    expect(r).toMatchObject({ ok: true, systemPath: prebuilt.systemPath, log: "building the system configuration...\n" + prebuilt.systemPath });
  });

  it("fails with the fetch's reason when the node may not fall back, and builds nothing", async () => {
    await sim.writeBundle(bundleDir(), FILES);
    const r = await obtainSystem(sim, bundleDir(), "n1", { ...prebuilt, cachePublicKey: "other:AAAA", fallbackLocal: false }, silentLogger());
    expect(r).toMatchObject({ ok: false, error: `refused ${prebuilt.systemPath} from ${prebuilt.cacheUrl}: not signed by the trusted key other (build_fallback: none, so the node does not build it itself)` });
    expect(await readdir(bundleDir())).not.toContain("result");
  });

  it("builds as always without a prebuilt system", async () => {
    await sim.writeBundle(bundleDir(), FILES);
    expect(await obtainSystem(sim, bundleDir(), "n1", null, silentLogger())).toMatchObject({ ok: true, log: expect.stringContaining("building the system configuration") });
  });
});
