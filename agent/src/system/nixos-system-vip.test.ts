// NixosSystem's API VIP hand-over and rejoin run exactly the expected command lines.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { setup } from "./nixos-system-fixtures.js";

describe("NixosSystem API VIP hand-over", () => {
  let dir = "";
  afterEach(async () => dir && (await rm(dir, { recursive: true, force: true })));

  it("hands over: the flag on disk, then keepalived stopped, so a peer takes the VIP at once", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active keepalived.service", { stdout: "active\n" });
    await sys.handOverVip();
    expect(runner.lines()).toEqual(["touch /var/lib/nk-agent/vip-handed-over", "systemctl is-active keepalived.service", "systemctl stop keepalived.service"]);
  });

  it("only sets the flag where keepalived does not run (not a carrier)", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active keepalived.service", { exitCode: 4, stdout: "inactive\n" });
    await sys.handOverVip();
    expect(runner.lines()).toEqual(["touch /var/lib/nk-agent/vip-handed-over", "systemctl is-active keepalived.service"]);
  });

  it("says why a hand-over failed", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active keepalived.service", { stdout: "active\n" });
    runner.on("systemctl stop keepalived.service", { exitCode: 1, stderr: "Failed to stop keepalived.service: Access denied\n" });
    await expect(sys.handOverVip()).rejects.toThrow("systemctl stop keepalived.service failed (1): Failed to stop keepalived.service: Access denied");
    const { runner: r2, sys: s2 } = setup();
    r2.on("touch", { exitCode: 1, stderr: "touch: cannot touch '/var/lib/nk-agent/vip-handed-over': No such file or directory\n" });
    await expect(s2.handOverVip()).rejects.toThrow("touch /var/lib/nk-agent/vip-handed-over failed (1)");
    expect(r2.lines()).toEqual(["touch /var/lib/nk-agent/vip-handed-over"]);
  });

  it("sees the VIP on its interfaces with ip addr show to <vip>/32", async () => {
    const { runner, sys } = setup();
    runner.on("ip -o -4 addr show to 172.30.190.10/32", { stdout: "2: enp1s0    inet 172.30.190.10/24 scope global secondary enp1s0\\       valid_lft forever preferred_lft forever\n" }, { stdout: "" });
    expect(await sys.holdsAddress("172.30.190.10")).toBe(true);
    expect(await sys.holdsAddress("172.30.190.10")).toBe(false);
    expect(runner.lines()).toEqual(["ip -o -4 addr show to 172.30.190.10/32", "ip -o -4 addr show to 172.30.190.10/32"]);
  });

  it("rejoins: the flag removed, keepalived started where the running system has it", async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-vip-"));
    await mkdir(join(dir, "carrier/etc/systemd/system"), { recursive: true });
    await writeFile(join(dir, "carrier/etc/systemd/system/keepalived.service"), "");
    await mkdir(join(dir, "plain/etc/systemd/system"), { recursive: true });
    const { runner, sys } = setup();
    runner.on("readlink -f /run/current-system", { stdout: `${join(dir, "carrier")}\n` });
    await sys.rejoinVip();
    expect(runner.lines()).toEqual(["rm -f /var/lib/nk-agent/vip-handed-over", "readlink -f /run/current-system", "systemctl start keepalived.service"]);

    const { runner: r2, sys: s2 } = setup();
    r2.on("readlink -f /run/current-system", { stdout: `${join(dir, "plain")}\n` });
    await s2.rejoinVip();
    expect(r2.lines()).toEqual(["rm -f /var/lib/nk-agent/vip-handed-over", "readlink -f /run/current-system"]);
  });
});
