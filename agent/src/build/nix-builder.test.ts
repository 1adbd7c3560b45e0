// NixBuilder's exact command lines and failure reports (the real-Nix run is test/nix/binary-cache.test.ts).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RecordingRunner } from "../system/recording-runner.js";
import type { BuildJob } from "./builder.js";
import { NixBuilder } from "./nix-builder.js";

const SP = "/nix/store/abcdfghijklmnpqrsvwxyz0123456789-nixos-system-n1";
const NIX = "nix --extra-experimental-features nix-command flakes";
const JOB: BuildJob = { node: "n1", revision: "r1", bundleSha256: "0123456789abcdef".repeat(4), files: [{ path: "flake.nix", content: "{ }" }], cacheUrl: "s3://nix-cache?region=eu-west-1" };

describe("NixBuilder", () => {
  let dir = "";
  let keyFile = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-builder-"));
    keyFile = join(dir, "cache-1.sk");
    await writeFile(keyFile, "cache-1:secret", { mode: 0o600 });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const setup = (): { runner: RecordingRunner; builder: NixBuilder; bundle: string } => {
    const runner = new RecordingRunner()
      .on(`${NIX} build`, { stdout: JSON.stringify([{ drvPath: "/nix/store/x.drv", outputs: { out: SP } }]) })
      .on(`${NIX} store ls --json ${SP}/kernel`, { stdout: '{"type":"symlink","target":"/nix/store/k-linux-6.6/bzImage"}' })
      .on(`${NIX} store ls --json ${SP}/initrd`, { stdout: '{"type":"symlink","target":"/nix/store/i-initrd/initrd"}' })
      .on(`${NIX} store ls --json ${SP}/kernel-modules`, { exitCode: 1, stderr: "error: path does not exist" });
    return { runner, builder: new NixBuilder({ runner, workDir: join(dir, "work"), keyFile }), bundle: join(dir, "work", "n1-0123456789abcdef") };
  };

  it("writes the bundle, builds the toplevel, signs the closure from the key file, pushes it and reads the boot paths", async () => {
    const { runner, builder, bundle } = setup();
    const r = await builder.build(JOB);
    expect(r).toMatchObject({ ok: true, built: { systemPath: SP, kernel: "/nix/store/k-linux-6.6/bzImage", initrd: "/nix/store/i-initrd/initrd", kernelModules: null } });
    expect(runner.lines()).toEqual([
      `${NIX} build --print-build-logs --json --out-link ${bundle}/result path:${bundle}#nixosConfigurations.n1.config.system.build.toplevel`,
      `${NIX} store sign --key-file ${keyFile} --recursive ${SP}`,
      `${NIX} copy --to s3://nix-cache?region=eu-west-1 ${SP}`,
      `${NIX} store ls --json ${SP}/kernel`,
      `${NIX} store ls --json ${SP}/initrd`,
      `${NIX} store ls --json ${SP}/kernel-modules`,
    ]);
    expect(await readFile(join(bundle, "flake.nix"), "utf8")).toBe("{ }");
    // The key is named by its file, never carried as content on any command line.
    expect(runner.lines().join("\n")).not.toContain("cache-1:secret");
  });

  it("stops at a failed build with Nix's error and keeps the log", async () => {
    const { runner, builder } = setup();
    runner.on(`${NIX} build`, { exitCode: 1, stderr: "building '/nix/store/x.drv'...\nerror: builder for '/nix/store/x.drv' failed with exit code 2\n" });
    expect(await builder.build(JOB)).toEqual({ ok: false, error: "error: builder for '/nix/store/x.drv' failed with exit code 2", log: "building '/nix/store/x.drv'...\nerror: builder for '/nix/store/x.drv' failed with exit code 2\n" });
    expect(runner.lines()).toHaveLength(1);
  });

  it("fails the job when the push fails, after signing", async () => {
    const { runner, builder } = setup();
    runner.on(`${NIX} copy`, { exitCode: 1, stderr: "error: AWS error: access denied\n" });
    expect(await builder.build(JOB)).toMatchObject({ ok: false, error: `pushing ${SP} to s3://nix-cache?region=eu-west-1 failed: error: AWS error: access denied` });
    expect(runner.lines()).toHaveLength(3);
  });

  it("refuses a missing key file before building anything", async () => {
    const { runner } = setup();
    const builder = new NixBuilder({ runner, workDir: join(dir, "work"), keyFile: join(dir, "missing.sk") });
    await expect(builder.build(JOB)).rejects.toThrow(`cannot read the signing key file ${join(dir, "missing.sk")}: ENOENT`);
    expect(runner.lines()).toEqual([]);
  });
});
