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
      },
    });
    return { status: r.status, stderr: r.stderr, log: readFileSync(log, "utf8").split("\n").filter((l) => l !== "") };
  }

  const guardFile = (name: string): string => join(state, "guard", name);
  const armed = (): Record<string, string> =>
    Object.fromEntries(readFileSync(guardFile("armed"), "utf8").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  const setSince = (since: number): void => {
    const a = armed();
    writeFileSync(guardFile("armed"), `system=${a.system}\npackage=${a.package}\nsince=${since}\n`);
  };
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
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("arms on activation of a new agent package and keeps the first deadline on re-activation", () => {
    expect(guard(["arm", newSystem]).status).toBe(0);
    expect(armed()).toMatchObject({ system: newSystem, package: NEW_AGENT });
    expect(Number(armed().since)).toBeGreaterThan(1_600_000_000);
    setSince(1234);
    guard(["arm", newSystem]);
    expect(armed().since).toBe("1234");
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
    setSince(1000);
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

  it("forgets an armed system that is no longer running", () => {
    guard(["arm", newSystem]);
    setSince(1000);
    rmSync(current);
    symlinkSync(oldSystem, current);
    const r = guard(["check"]);
    expect(r.status).toBe(0);
    expect(r.log).toEqual([]);
    expect(existsSync(guardFile("armed"))).toBe(false);
  });

  it("does not switch when there is no older generation or the profile moved on", () => {
    guard(["arm", newSystem]);
    setSince(1000);
    const none = guard(["check"], { previous: "" });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("no generation before");
    expect(none.log).toEqual([`nix-env --profile ${profile} --rollback`]);
    expect(existsSync(guardFile("armed"))).toBe(false);

    guard(["arm", newSystem]);
    setSince(1000);
    rmSync(profile);
    symlinkSync(oldSystem, profile);
    const moved = guard(["check"]);
    expect(moved.status).toBe(1);
    expect(moved.stderr).toContain("no longer points at");
    expect(moved.log).toEqual([]);
  });

  it("rejects unknown usage", () => {
    expect(guard([]).status).toBe(2);
    expect(guard(["arm"]).status).toBe(2);
  });
});
