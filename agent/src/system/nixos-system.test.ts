// NixosSystem runs exactly the expected command lines (checked with a recording runner: NixOS cannot run here).
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { OLD, RUN, SP, setup } from "./nixos-system-fixtures.js";

describe("NixosSystem", () => {
  it("builds with nixos-rebuild in the bundle dir and reads ./result", async () => {
    const { runner, sys } = setup();
    runner.on("readlink -f /b/x/result", { stdout: `${SP}\n` });
    const r = await sys.build("/b/x", "n1");
    expect(r).toEqual({ ok: true, systemPath: SP, log: "" });
    expect(runner.lines()).toEqual([
      "cp --no-preserve=mode,ownership /etc/nixos/hardware-configuration.nix /b/x/hardware-configuration.nix",
      "nixos-rebuild build --flake path:/b/x#n1",
      "readlink -f /b/x/result",
    ]);
    expect(runner.calls[1]?.opts.cwd).toBe("/b/x");
  });

  it("fails the build, before running nixos-rebuild, when hardware-configuration.nix cannot be copied", async () => {
    const { runner, sys } = setup();
    runner.on("cp", { exitCode: 1, stderr: "cp: cannot stat '/etc/nixos/hardware-configuration.nix': No such file or directory\n" });
    const r = await sys.build("/b/x", "n1");
    expect(r).toMatchObject({
      ok: false,
      error: "cannot copy /etc/nixos/hardware-configuration.nix into the bundle: cp: cannot stat '/etc/nixos/hardware-configuration.nix': No such file or directory",
    });
    expect(runner.lines()).toEqual(["cp --no-preserve=mode,ownership /etc/nixos/hardware-configuration.nix /b/x/hardware-configuration.nix"]);
  });

  it("returns a failed build with its last error line", async () => {
    const { runner, sys } = setup();
    runner.on("nixos-rebuild", { exitCode: 1, stderr: "building...\nerror: attribute 'k3s' missing\n" });
    const r = await sys.build("/b/x", "n1");
    expect(r).toMatchObject({ ok: false, error: "error: attribute 'k3s' missing" });
    expect(runner.lines()).toHaveLength(2);
  });

  it("builds a preview at low priority: nice, ionice idle class, one build job", async () => {
    const { runner, sys } = setup();
    runner.on("readlink -f /p/bump/result", { stdout: `${SP}\n` });
    expect(await sys.build("/p/bump", "n1", undefined, { lowPriority: true })).toEqual({ ok: true, systemPath: SP, log: "" });
    expect(runner.lines()).toEqual([
      "cp --no-preserve=mode,ownership /etc/nixos/hardware-configuration.nix /p/bump/hardware-configuration.nix",
      "nice -n 19 ionice -c 3 nixos-rebuild build --flake path:/p/bump#n1 --max-jobs 1",
      "readlink -f /p/bump/result",
    ]);
    expect(runner.calls[1]?.opts.cwd).toBe("/p/bump");
  });

  it("lists every boot change with both store paths (what a preview names)", async () => {
    const { runner, sys } = setup();
    runner.on("readlink -f", { stdout: "/nix/store/same" });
    const exactly = (line: string) => (argv: readonly string[]) => argv.join(" ") === line;
    runner.on(exactly("readlink -f /run/booted-system/kernel"), { stdout: "/nix/store/k1-linux-6.6.30/bzImage\n" });
    runner.on(exactly(`readlink -f ${SP}/kernel`), { stdout: "/nix/store/k2-linux-6.6.32/bzImage\n" });
    runner.on("cat /run/current-system/switch-inhibitors", { stdout: "/nix/store/s1-systemd-256\n" });
    runner.on(`cat ${SP}/switch-inhibitors`, { stdout: "/nix/store/s2-systemd-257\n" });
    expect(await sys.bootChanges(SP)).toEqual([
      { what: "kernel", from: "/nix/store/k1-linux-6.6.30/bzImage", to: "/nix/store/k2-linux-6.6.32/bzImage" },
      { what: "switch-inhibitors", from: "/nix/store/s1-systemd-256", to: "/nix/store/s2-systemd-257" },
    ]);
    expect(runner.lines()).toEqual([
      "readlink -f /run/booted-system/kernel",
      `readlink -f ${SP}/kernel`,
      "readlink -f /run/booted-system/initrd",
      `readlink -f ${SP}/initrd`,
      "readlink -f /run/booted-system/kernel-modules",
      `readlink -f ${SP}/kernel-modules`,
      "cat /run/current-system/switch-inhibitors",
      `cat ${SP}/switch-inhibitors`,
    ]);
  });

  it("reports the booted system's kernel, initrd and modules, null for a link it does not have", async () => {
    const { runner, sys } = setup();
    runner.on("readlink -e /run/booted-system/kernel", { stdout: "/nix/store/k1-linux-6.6.30/bzImage\n" });
    runner.on("readlink -e /run/booted-system/initrd", { stdout: "/nix/store/i1-initrd-linux-6.6.30/initrd\n" });
    runner.on("readlink -e /run/booted-system/kernel-modules", { exitCode: 1, stderr: "" });
    expect(await sys.bootedBootPaths()).toEqual({ kernel: "/nix/store/k1-linux-6.6.30/bzImage", initrd: "/nix/store/i1-initrd-linux-6.6.30/initrd", kernelModules: null });
    expect(runner.lines()).toEqual(["readlink -e /run/booted-system/kernel", "readlink -e /run/booted-system/initrd", "readlink -e /run/booted-system/kernel-modules"]);
  });

  it("identifies the agent the running system ships by its unit file's store path", async () => {
    const { runner, sys } = setup();
    runner.on("readlink -f /etc/systemd/system/nk-agent.service", { stdout: "/nix/store/abc-unit-nk-agent.service/nk-agent.service\n" });
    expect(await sys.agentIdentity()).toBe("/nix/store/abc-unit-nk-agent.service/nk-agent.service");
    expect(runner.lines()).toEqual(["readlink -f /etc/systemd/system/nk-agent.service"]);
  });

  it("reads the k3s version from the k3s package the system's environment links", async () => {
    const { runner, sys } = setup();
    const exactly = (line: string) => (argv: readonly string[]) => argv.join(" ") === line;
    runner.on(exactly(`readlink -f ${SP}/sw/bin/k3s`), { stdout: "/nix/store/0123456789abcdefghijklmnopqrstuv-k3s-1.31.4+k3s1/bin/k3s\n" });
    // A system without k3s: GNU readlink -f still resolves the missing last component and exits 0.
    runner.on(exactly(`readlink -f ${OLD}/sw/bin/k3s`), { stdout: "/nix/store/0123456789abcdefghijklmnopqrstuv-system-path/bin/k3s\n" });
    runner.on(exactly("readlink -f /nix/store/gone/sw/bin/k3s"), { exitCode: 1, stderr: "" });
    expect(await sys.k3sVersion(SP)).toBe("1.31.4+k3s1");
    expect(await sys.k3sVersion(OLD)).toBeNull();
    expect(await sys.k3sVersion("/nix/store/gone")).toBeNull();
    expect(runner.lines()).toEqual([`readlink -f ${SP}/sw/bin/k3s`, `readlink -f ${OLD}/sw/bin/k3s`, "readlink -f /nix/store/gone/sw/bin/k3s"]);
  });

  it("parses dry-activate output", async () => {
    const { runner, sys } = setup();
    runner.on(`${SP}/bin/switch-to-configuration dry-activate`, {
      stderr: "would stop the following units: k3s.service\nwould activate the configuration...\nwould restart the following units: sshd.service, nscd.service\nwould start the following units: k3s.service\n",
    });
    const d = await sys.dryActivate(SP);
    expect(d).toEqual({ stopUnits: ["k3s.service"], restartUnits: ["sshd.service", "nscd.service"], reloadUnits: [], startUnits: ["k3s.service"] });
  });

  it("needs a reboot when the kernel differs from the booted system", async () => {
    const { runner, sys } = setup();
    runner.on("readlink -f /run/booted-system/kernel", { stdout: "/nix/store/k1-linux/bzImage" });
    runner.on(`readlink -f ${SP}/kernel`, { stdout: "/nix/store/k2-linux/bzImage" });
    expect(await sys.needsReboot(SP)).toBe(true);
    expect(runner.lines()).toEqual(["readlink -f /run/booted-system/kernel", `readlink -f ${SP}/kernel`]);
  });

  it("compares kernel, initrd, modules and switch inhibitors before saying no reboot", async () => {
    const { runner, sys } = setup();
    runner.on("readlink -f", { stdout: "/nix/store/same" });
    runner.on("cat /run/current-system/switch-inhibitors", { stdout: "/nix/store/systemd-256\n" });
    runner.on(`cat ${SP}/switch-inhibitors`, { stdout: "/nix/store/systemd-256\n" });
    expect(await sys.needsReboot(SP)).toBe(false);
    expect(runner.lines()).toEqual([
      "readlink -f /run/booted-system/kernel",
      `readlink -f ${SP}/kernel`,
      "readlink -f /run/booted-system/initrd",
      `readlink -f ${SP}/initrd`,
      "readlink -f /run/booted-system/kernel-modules",
      `readlink -f ${SP}/kernel-modules`,
      "cat /run/current-system/switch-inhibitors",
      `cat ${SP}/switch-inhibitors`,
    ]);
    runner.on(`cat ${SP}/switch-inhibitors`, { stdout: "/nix/store/systemd-257\n" });
    expect(await sys.needsReboot(SP)).toBe(true);
  });

  it("switches through nix-env and a transient systemd unit named after the system", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active", { stdout: "inactive\n", exitCode: 3 });
    expect(await sys.switch(SP)).toEqual({ ok: true, log: "" });
    expect(runner.lines()).toEqual([
      "systemctl is-active nk-switch-abcdefghijkl.service",
      `nix-env -p /nix/var/nix/profiles/system --set ${SP}`,
      `${RUN} --unit=nk-switch-abcdefghijkl --wait ${SP}/bin/switch-to-configuration switch`,
    ]);
  });

  it("reports a failed activation", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active", { stdout: "inactive" });
    runner.on("systemd-run", { exitCode: 4, stderr: "warning: the following units failed: k3s.service\n" });
    expect(await sys.switch(SP)).toMatchObject({ ok: false, error: "switch-to-configuration switch exited with 4: warning: the following units failed: k3s.service" });
  });

  it("joins an activation still running from before an agent restart instead of starting another", async () => {
    const { runner, sys, sleeps } = setup();
    runner.on("systemctl is-active nk-switch-abcdefghijkl.service", { stdout: "active" }, { stdout: "active" }, { stdout: "inactive" });
    runner.on("readlink -f /run/current-system", { stdout: SP });
    expect(await sys.switch(SP)).toMatchObject({ ok: true });
    expect(sleeps).toEqual([500, 500]);
    expect(runner.lines().some((l) => l.startsWith("systemd-run") || l.startsWith("nix-env"))).toBe(false);
  });

  it("stops a switch past its deadline by stopping its transient unit", async () => {
    const { runner, sys } = setup();
    await sys.stopActivation(SP);
    expect(runner.lines()).toEqual(["systemctl stop nk-switch-abcdefghijkl.service"]);
    runner.on("systemctl stop", { exitCode: 5, stderr: "Failed to stop nk-switch-abcdefghijkl.service: Access denied\n" });
    await expect(sys.stopActivation(SP)).rejects.toThrow("systemctl stop nk-switch-abcdefghijkl.service failed (5): Failed to stop nk-switch-abcdefghijkl.service: Access denied");
  });

  it("reads generations, boot id and unit state", async () => {
    const { runner, sys } = setup();
    runner.on("readlink -f /run/current-system", { stdout: `${SP}\n` });
    runner.on("readlink -f /run/booted-system", { stdout: `${OLD}\n` });
    runner.on("cat /proc/sys/kernel/random/boot_id", { stdout: "6f1c0b7e-1d2b-4a5e-9c1d-0a1b2c3d4e5f\n" });
    runner.on("systemctl is-active k3s", { stdout: "active\n" });
    runner.on("systemctl is-active containerd", { stdout: "failed\n", exitCode: 3 });
    expect(await sys.currentSystem()).toBe(SP);
    expect(await sys.bootedSystem()).toBe(OLD);
    expect(await sys.bootId()).toBe("6f1c0b7e-1d2b-4a5e-9c1d-0a1b2c3d4e5f");
    expect(await sys.unitActive("k3s")).toBe(true);
    expect(await sys.unitActive("containerd")).toBe(false);
  });

  it("finds a unit in a system's etc/systemd/system, so a host without k3s is not held to k3s.service", async () => {
    const { sys } = setup();
    const root = await mkdtemp(join(tmpdir(), "nk-system-units-"));
    try {
      await mkdir(join(root, "server/etc/systemd/system"), { recursive: true });
      await writeFile(join(root, "server/etc/systemd/system/k3s.service"), "[Unit]\n");
      await mkdir(join(root, "nas/etc/systemd/system"), { recursive: true });
      expect(await sys.systemHasUnit(join(root, "server"), "k3s.service")).toBe(true);
      expect(await sys.systemHasUnit(join(root, "nas"), "k3s.service")).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("runs checks as argv with their timeout", async () => {
    const { runner, sys } = setup();
    runner.on("ceph health", { stdout: "HEALTH_OK\n" });
    expect(await sys.runCheck(["ceph", "health"], 5000)).toEqual({ exitCode: 0, stdout: "HEALTH_OK\n" });
    expect(runner.calls[0]?.opts.timeoutMs).toBe(5000);
  });

  it("throws IO when a symlink cannot be read", async () => {
    const { runner, sys } = setup();
    runner.on("readlink", { exitCode: 1, stderr: "no such file" });
    await expect(sys.currentSystem()).rejects.toSatisfy((e: unknown) => isNkError(e, "IO"));
  });
});

describe("NixosSystem.pruneBundles", () => {
  let dir = "";
  afterEach(async () => dir && (await rm(dir, { recursive: true, force: true })));

  it("reads each unkept bundle's result link and removes the bundles that built no kept system", async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-prune-"));
    const [a, b, c, d] = ["a", "b", "c", "d"].map((x) => x.repeat(64)) as [string, string, string, string];
    for (const name of [a, b, c, d, `${c}.tmp-12`]) await mkdir(join(dir, name));
    const { runner, sys } = setup();
    runner.on(`readlink ${dir}/${b}/result`, { stdout: `${OLD}\n` });
    runner.on(`readlink ${dir}/${c}/result`, { stdout: "/nix/store/ccc-nixos-system-n1\n" });
    runner.on(`readlink ${dir}/${c}.tmp-12/result`, { exitCode: 1, stderr: "readlink: no such file" });
    runner.on(`readlink ${dir}/${d}/result`, { exitCode: 1 });
    const removed = await sys.pruneBundles(dir, { sha256s: [a], systems: [SP, OLD] });
    expect(removed).toEqual([c, `${c}.tmp-12`, d]);
    expect(runner.lines()).toEqual([
      `readlink ${dir}/${b}/result`,
      `readlink ${dir}/${c}/result`,
      `readlink ${dir}/${c}.tmp-12/result`,
      `readlink ${dir}/${d}/result`,
      `rm -rf -- ${dir}/${c}`,
      `rm -rf -- ${dir}/${c}.tmp-12`,
      `rm -rf -- ${dir}/${d}`,
    ]);
  });

  it("tries every removal and then reports the ones that failed", async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-prune-"));
    for (const name of ["x", "y"]) await mkdir(join(dir, name));
    const { runner, sys } = setup();
    runner.on("readlink", { exitCode: 1 });
    runner.on(`rm -rf -- ${dir}/x`, { exitCode: 1, stderr: "rm: cannot remove: Read-only file system\n" });
    await expect(sys.pruneBundles(dir, { sha256s: [], systems: [] })).rejects.toThrow(`cannot remove old bundles: ${dir}/x (rm: cannot remove: Read-only file system)`);
    expect(runner.lines().filter((l) => l.startsWith("rm"))).toEqual([`rm -rf -- ${dir}/x`, `rm -rf -- ${dir}/y`]);
  });

  it("has nothing to prune before the first bundle", async () => {
    const { runner, sys } = setup();
    expect(await sys.pruneBundles("/nonexistent/nk-bundles", { sha256s: [], systems: [] })).toEqual([]);
    expect(runner.lines()).toEqual([]);
  });
});

describe("NixosSystem.writeBundle", () => {
  let dir = "";
  afterEach(async () => dir && (await rm(dir, { recursive: true, force: true })));

  it("writes the bundle's files", async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-nixos-"));
    const { sys } = setup();
    await sys.writeBundle(join(dir, "b"), [{ path: "nk/k3s.nix", content: "{ }" }]);
    expect(await readFile(join(dir, "b/nk/k3s.nix"), "utf8")).toBe("{ }");
  });
});
