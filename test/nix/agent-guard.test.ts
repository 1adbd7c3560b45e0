// nixos-module/agent-guard.sh run by bash against fake generations: arming, confirming, waiting, rolling back once.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { REPO } from "./nix-eval.js";

const SCRIPT = join(REPO, "nixos-module/agent-guard.sh");
const NEW_AGENT = "/nix/store/bbbb-nk-0.2.0";
const OLD_AGENT = "/nix/store/aaaa-nk-0.1.0";

// nix-env --profile P --rollback moves P to $FAKE_PREVIOUS (or fails without one); systemctl only logs;
// each fake system's switch-to-configuration logs and becomes the running system, as a real switch would.
const NIX_ENV = `#!/usr/bin/env bash
echo "nix-env $*" >> "$FAKE_LOG"
[ -n "$FAKE_PREVIOUS" ] || { echo "error: no generation older than the current" >&2; exit 1; }
ln -sfn "$FAKE_PREVIOUS" "$2"
`;
const SYSTEMCTL = `#!/usr/bin/env bash
echo "systemctl $*" >> "$FAKE_LOG"
`;
const switchScript = (system: string, current: string) => `#!/usr/bin/env bash
echo "switch-to-configuration $1 ${system}" >> "$FAKE_LOG"
ln -sfn "${system}" "${current}"
`;

describe("nk-agent-guard", () => {
  let dir = "";
  let oldSystem = "";
  let newSystem = "";
  let profile = "";
  let current = "";
  let state = "";

  function write(path: string, content: string, mode = 0o644): void {
    writeFileSync(path, content);
    chmodSync(path, mode);
  }

  function guard(args: string[], opts: { pkg?: string; previous?: string; deadline?: number } = {}) {
    const log = join(dir, "log");
    writeFileSync(log, "");
    const r = spawnSync("bash", [SCRIPT, ...args], {
      encoding: "utf8",
      timeout: 20_000,
      env: {
        PATH: `${join(dir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
        FAKE_LOG: log,
        FAKE_PREVIOUS: opts.previous ?? oldSystem,
        NK_GUARD_STATE_DIR: state,
        NK_GUARD_PACKAGE: opts.pkg ?? NEW_AGENT,
        NK_GUARD_DEADLINE: String(opts.deadline ?? 900),
        NK_GUARD_PROFILE: profile,
        NK_GUARD_CURRENT: current,
        NK_GUARD_BOOT_ID: join(dir, "boot_id"),
        NK_GUARD_UPTIME: join(dir, "uptime"),
      },
    });
    return { status: r.status, stderr: r.stderr, log: readFileSync(log, "utf8").split("\n").filter((l) => l !== "") };
  }

  const guardFile = (name: string): string => join(state, "guard", name);
  const armed = (): Record<string, string> =>
    Object.fromEntries(readFileSync(guardFile("armed"), "utf8").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  /** The machine's clocks as the guard reads them: seconds of uptime and the boot id (no wall clock). */
  const setUptime = (seconds: number): void => writeFileSync(join(dir, "uptime"), `${seconds}.37 ${seconds * 2}.00\n`);
  const setBoot = (id: string): void => writeFileSync(join(dir, "boot_id"), `${id}\n`);
  const alive = (pkg: string): void => writeFileSync(join(state, "alive.json"), JSON.stringify({ package: pkg, version: "0.2.0", pid: 42, at: "2025-01-01T00:00:00Z" }));

  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), "nk-guard-")));
    for (const d of ["bin", "profiles", "run", "state", "old/bin", "new/bin"]) mkdirSync(join(dir, d), { recursive: true });
    oldSystem = join(dir, "old");
    newSystem = join(dir, "new");
    profile = join(dir, "profiles/system");
    current = join(dir, "run/current-system");
    state = join(dir, "state");
    write(join(dir, "bin/nix-env"), NIX_ENV, 0o755);
    write(join(dir, "bin/systemctl"), SYSTEMCTL, 0o755);
    write(join(oldSystem, "bin/switch-to-configuration"), switchScript(oldSystem, current), 0o755);
    write(join(newSystem, "bin/switch-to-configuration"), switchScript(newSystem, current), 0o755);
    // The switch to `new` has happened: the profile and the running system both point at it.
    symlinkSync(newSystem, profile);
    symlinkSync(newSystem, current);
    setBoot("boot-1");
    setUptime(100);
    // The old agent was confirmed when it came: this switch is an agent update.
    mkdirSync(join(state, "guard"), { recursive: true });
    writeFileSync(guardFile("confirmed"), `${OLD_AGENT}\n`);
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("arms on activation of a new agent package and keeps the first deadline on re-activation", () => {
    expect(guard(["arm", newSystem]).status).toBe(0);
    expect(armed()).toMatchObject({ system: newSystem, package: NEW_AGENT, boot: "boot-1", start: "100", before: "0" });
    setUptime(400);
    guard(["arm", newSystem]);
    expect(armed()).toMatchObject({ start: "100", before: "0" });
    expect(guard(["check"]).stderr).toContain("600s left");
  });

  it("counts seconds of uptime, summed over reboots, never the wall clock", () => {
    guard(["arm", newSystem]);
    setUptime(700);
    expect(guard(["check"]).stderr).toContain("300s left");
    // A reboot: the activation at boot arms again and carries the 600 s counted so far.
    setBoot("boot-2");
    setUptime(20);
    guard(["arm", newSystem]);
    expect(armed()).toMatchObject({ boot: "boot-2", start: "20", before: "600" });
    setUptime(200);
    expect(guard(["check"]).stderr).toContain("120s left");
    setUptime(320);
    expect(guard(["check"]).log).toEqual([`nix-env --profile ${profile} --rollback`, `switch-to-configuration switch ${oldSystem}`, "systemctl restart --no-block nk-agent.service"]);
  });

  it("confirms the first agent a machine runs instead of watching it: there is no older agent to go back to", () => {
    rmSync(guardFile("confirmed"));
    expect(guard(["arm", newSystem]).status).toBe(0);
    expect(existsSync(guardFile("armed"))).toBe(false);
    expect(readFileSync(guardFile("confirmed"), "utf8").trim()).toBe(NEW_AGENT);
  });

  it("keeps watching mid-switch, when the running system is still the old one and this timer may be the old guard", () => {
    guard(["arm", newSystem]);
    rmSync(current);
    symlinkSync(oldSystem, current);
    const r = guard(["check"], { pkg: OLD_AGENT });
    expect(r.stderr).toContain("waiting for agent");
    expect(armed()).toMatchObject({ system: newSystem, package: NEW_AGENT });
  });

  it("does not arm for the package it already confirmed", () => {
    guard(["arm", newSystem]);
    writeFileSync(guardFile("confirmed"), `${NEW_AGENT}\n`);
    expect(guard(["arm", newSystem]).status).toBe(0);
    expect(existsSync(guardFile("armed"))).toBe(false);
  });

  it("confirms the package once the new agent wrote alive.json", () => {
    guard(["arm", newSystem]);
    alive(NEW_AGENT);
    const r = guard(["check"]);
    expect(r.status).toBe(0);
    expect(readFileSync(guardFile("confirmed"), "utf8").trim()).toBe(NEW_AGENT);
    expect(existsSync(guardFile("armed"))).toBe(false);
    expect(r.log).toEqual([]);
  });

  it("waits while the deadline runs, even with the old agent still alive", () => {
    guard(["arm", newSystem]);
    alive(OLD_AGENT);
    const r = guard(["check"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/waiting for agent .*: \d+s left/);
    expect(r.log).toEqual([]);
    expect(existsSync(guardFile("armed"))).toBe(true);
  });

  it("rolls back once after the deadline, restarts the agent, records why, and trusts the system it went back to", () => {
    guard(["arm", newSystem]);
    setUptime(1000);
    alive(OLD_AGENT);
    const r = guard(["check"]);
    expect(r.status).toBe(0);
    expect(r.log).toEqual([`nix-env --profile ${profile} --rollback`, `switch-to-configuration switch ${oldSystem}`, "systemctl restart --no-block nk-agent.service"]);
    const record = JSON.parse(readFileSync(guardFile("rolled-back.json"), "utf8")) as Record<string, unknown>;
    expect(record).toMatchObject({ from: newSystem, to: oldSystem, package: NEW_AGENT });
    expect(record.reason).toContain(`the new nk agent (${NEW_AGENT}) did not report alive within 900s`);
    expect(typeof record.at).toBe("number");
    expect(existsSync(guardFile("armed"))).toBe(false);

    // The old system's activation (with its own, older agent package) must not start another countdown.
    expect(guard(["arm", oldSystem], { pkg: OLD_AGENT }).status).toBe(0);
    expect(existsSync(guardFile("armed"))).toBe(false);
    expect(readFileSync(guardFile("confirmed"), "utf8").trim()).toBe(OLD_AGENT);
  });

  it("forgets an armed system that is no longer running nor the profile's", () => {
    guard(["arm", newSystem]);
    setUptime(1000);
    rmSync(current);
    symlinkSync(oldSystem, current);
    rmSync(profile);
    symlinkSync(oldSystem, profile);
    const r = guard(["check"]);
    expect(r.status).toBe(0);
    expect(r.log).toEqual([]);
    expect(existsSync(guardFile("armed"))).toBe(false);
  });

  it("does not switch when there is no older generation or the profile moved on", () => {
    guard(["arm", newSystem]);
    setUptime(1000);
    const none = guard(["check"], { previous: "" });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("no generation before");
    expect(none.log).toEqual([`nix-env --profile ${profile} --rollback`]);
    expect(existsSync(guardFile("armed"))).toBe(false);

    setUptime(100);
    guard(["arm", newSystem]);
    setUptime(1100);
    rmSync(profile);
    symlinkSync(oldSystem, profile);
    const moved = guard(["check"]);
    expect(moved.status).toBe(1);
    expect(moved.stderr).toContain("no longer points at");
    expect(moved.log).toEqual([]);
  });

  it("needs nothing beyond coreutils, jq, nix and systemd: the PATH its NixOS unit and the activation script give it", () => {
    // The activation script's PATH has no sed: reading the armed file with sed silently restarted the countdown.
    const only = join(dir, "only");
    mkdirSync(only);
    const coreutils = ["basename", "cat", "chmod", "cp", "cut", "date", "dirname", "echo", "env", "head", "id", "ln", "ls", "mkdir", "mv", "printf", "readlink", "rm", "sleep", "sort", "stat", "sync", "tail", "touch", "tr", "true", "false", "wc"];
    for (const tool of [...coreutils, "jq"]) {
      const found = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
      if (found.startsWith("/")) symlinkSync(found, join(only, tool));
    }
    const bash = spawnSync("bash", ["-c", "command -v bash"], { encoding: "utf8" }).stdout.trim();
    const run = (args: string[]) => spawnSync(bash, [SCRIPT, ...args], {
      encoding: "utf8",
      env: { PATH: `${join(dir, "bin")}:${only}`, FAKE_LOG: join(dir, "log"), FAKE_PREVIOUS: oldSystem, NK_GUARD_STATE_DIR: state, NK_GUARD_PACKAGE: NEW_AGENT, NK_GUARD_DEADLINE: "900", NK_GUARD_PROFILE: profile, NK_GUARD_CURRENT: current, NK_GUARD_BOOT_ID: join(dir, "boot_id"), NK_GUARD_UPTIME: join(dir, "uptime") },
    });
    expect(run(["arm", newSystem]).stderr).not.toContain("command not found");
    setUptime(400);
    expect(run(["arm", newSystem]).stderr).toBe("");
    expect(armed()).toMatchObject({ start: "100" });
    const checked = run(["check"]);
    expect(checked.stderr).not.toContain("command not found");
    expect(checked.stderr).toContain("600s left");
  });

  it("rejects unknown usage", () => {
    expect(guard([]).status).toBe(2);
    expect(guard(["arm"]).status).toBe(2);
  });
});
