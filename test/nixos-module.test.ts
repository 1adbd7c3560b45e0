// The NixOS modules evaluated without nixpkgs (stub lib): every .nix parses; nk-agent's options, unit, JSON and assertions (nk-coordinator's are in nixos-module-coordinator.test.ts).
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentConfigSchema } from "../agent/src/config/index.js";
import { RUNTIME_CONFIG } from "../agent/src/retry-command.js";
import { renderInstaller } from "../shared/src/installer/index.js";
import { parseNixFiles } from "../shared/src/nix/index.js";
import { exampleInventory, testInputs } from "../shared/src/render/test-inventory.js";
import { evalModule, evaluate, moduleExpr, nixEval, nixEvalError, nixValue, REPO, SCRIPTS_AS_TEXT, unitJson, type Evaluated } from "./nix/nix-eval.js";

const run = promisify(execFile);

async function nixFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    // Dependencies, build output and dot-folders (.git, demo state) are not the repo's own Nix.
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await nixFilesUnder(full)));
    else if (entry.name.endsWith(".nix")) out.push(full);
  }
  return out;
}

describe("every .nix file", () => {
  let tmp = "";
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "nk-nix-files-"));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("parses: the repo's own and a generated installer's", async () => {
    const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    for (const f of renderInstaller(exampleInventory(), "n1", { coordinator: "coord.lan:7443", caPem: ca, enrollToken: "t0k", inputs: testInputs() })) {
      await mkdir(dirname(join(tmp, f.path)), { recursive: true });
      await writeFile(join(tmp, f.path), f.content);
    }
    const files = [...(await nixFilesUnder(REPO)), ...(await nixFilesUnder(tmp))];
    for (const expected of ["flake.nix", "nixos-module/agent.nix", "nixos-module/coordinator.nix", "nixos-module/package.nix", "nixos-module/vm-test.nix"]) {
      expect(files).toContain(join(REPO, expected));
    }
    expect(files).toContain(join(tmp, "installer.nix"));
    const results = await parseNixFiles(files, { concurrency: 4 });
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});

describe("services.nk-agent", () => {
  it("declares its options with their types and defaults", async () => {
    const { options } = await evalModule<Evaluated>("agent", {}, "", "n1");
    const o = (name: string) => options[`services.nk-agent.${name}`];
    expect(Object.keys(options).sort()).toEqual(
      ["caFile", "coordinator", "coordinators", "enable", "extraArgs", "guard.deadlineSeconds", "guard.enable", "guard.intervalSeconds", "healthChecks", "localConfigFile", "logLevel", "nodeName", "package", "settings", "stateDir", "tokenFile"].map((n) => `services.nk-agent.${n}`),
    );
    expect(o("enable")).toMatchObject({ type: "boolean", default: false });
    expect(o("package")).toMatchObject({ type: "package", default: "/stub/nk" });
    expect(o("coordinator")).toMatchObject({ type: "null or string", default: null });
    expect(o("coordinators")).toMatchObject({ type: "list of string", default: [] });
    expect(o("caFile")).toMatchObject({ type: "string", default: "/etc/nk/ca.pem" });
    expect(o("tokenFile")).toMatchObject({ type: "string", default: "/etc/nk/token" });
    expect(o("localConfigFile")).toMatchObject({ type: "null or string", default: "/etc/nk/agent.local.json" });
    expect(o("nodeName")).toMatchObject({ type: "string", default: "n1" });
    expect(o("stateDir")).toMatchObject({ type: "string", default: "/var/lib/nk-agent" });
    expect(o("healthChecks")).toMatchObject({ type: "list of submodule", default: [] });
    expect(o("settings")).toMatchObject({ type: "JSON value", default: {} });
    expect(o("guard.deadlineSeconds")).toMatchObject({ default: 900 });
  });

  it("adds nothing while disabled", async () => {
    await expect(evalModule("agent", { services: { "nk-agent": { coordinator: "c:1" } } }, ".config")).resolves.toEqual({});
  });

  it("runs nk-agent as root on the merged JSON config, never restarted by a switch", async () => {
    const e = await evaluate("agent", { coordinator: "coord.lan:7443" }, "n1");
    expect(e.failedAssertions).toEqual([]);
    const unit = e.config.systemd.services["nk-agent"]!;
    const sc = unit.serviceConfig;
    expect(sc.ExecStart).toBe("/stub/nk/bin/nk-agent --config /run/nk/agent.json");
    expect(sc.ExecStartPre).toBe("/stub/store/nk-agent-prepare-config");
    expect(unit.restartIfChanged).toBe(false);
    expect(unit.stopIfChanged).toBe(false);
    expect(unit.startLimitIntervalSec).toBe(0);
    expect(unit.wantedBy).toEqual(["multi-user.target"]);
    expect(unit.path).toEqual(expect.arrayContaining(["/stub/nixos-rebuild", "/stub/nix", "/stub/git", "/stub/systemd", "/stub/coreutils", "/stub/util-linux"]));
    expect(unit.environment).toMatchObject({ NK_AGENT_PACKAGE: "/stub/nk", NIX_REMOTE: "daemon", NIX_CONFIG: "extra-experimental-features = nix-command flakes" });
    expect(sc).toMatchObject({
      User: "root",
      Restart: "always",
      RestartSec: 5,
      StateDirectory: "nk-agent",
      StateDirectoryMode: "0700",
      RuntimeDirectory: ["nk", "nk/secrets"],
      RuntimeDirectoryMode: "0700",
      RuntimeDirectoryPreserve: "yes",
      NoNewPrivileges: true,
      MemoryDenyWriteExecute: false,
    });
    // Switching writes /etc, /boot and /nix/var: these must stay unset.
    for (const key of ["ProtectSystem", "ProtectHome", "PrivateTmp", "RestrictSUIDSGID", "SystemCallFilter"]) expect(sc).not.toHaveProperty(key);

    const json = unitJson(e, "nk/agent.json");
    expect(json).toEqual({
      node: "n1",
      coordinators: ["coord.lan:7443"],
      caFile: "/etc/nk/ca.pem",
      tokenFile: "/etc/nk/token",
      stateDir: "/var/lib/nk-agent",
      secretsDir: "/run/nk/secrets",
      system: { kind: "nixos", hardwareConfig: "/etc/nixos/hardware-configuration.nix" },
      healthChecks: [],
      logLevel: "info",
    });
    expect(agentConfigSchema.safeParse(json).success).toBe(true);
    // `sudo nk-agent retry` works on the node: the package is on PATH, and the command reads /run/nk/agent.json.
    expect(e.config.environment.systemPackages).toEqual(["/stub/nk"]);
    expect(RUNTIME_CONFIG).toBe("/run/nk/agent.json");
  });

  it("keeps keepalived (and k3s) retrying until the agent has written their secrets after a boot, instead of hitting the start limit", async () => {
    const unit = (service: "keepalived" | "k3s", enable: boolean) => evalModule<Record<string, unknown> | null>("agent", { services: { "nk-agent": { enable: true, coordinator: "c:1" }, [service]: { enable } } }, `.config.systemd.services.${service} or null`, "n1");
    expect(await unit("keepalived", true)).toEqual({ startLimitIntervalSec: 0, serviceConfig: { RestartSec: "5s" } });
    expect(await unit("keepalived", false)).toBeNull();
    expect(await unit("k3s", true)).toEqual({ startLimitIntervalSec: 0 });
    expect(await unit("k3s", false)).toBeNull();
  });

  it("puts grub-reboot on the agent's PATH on GRUB machines, for trial boots", async () => {
    const path = (grub: boolean) => evalModule<string[]>("agent", { services: { "nk-agent": { enable: true, coordinator: "c:1" } }, boot: { loader: { grub: { enable: grub } } } }, ".config.systemd.services.nk-agent.path", "n1");
    // grub-efi installs no GRUB tools into the system (devices = [ "nodev" ]), so the agent brings its own.
    expect(await path(true)).toContain("/stub/grub2");
    expect(await path(false)).not.toContain("/stub/grub2");
  });

  it("fills health-check defaults, merges settings last and escapes extra arguments", async () => {
    const e = await evaluate("agent", {
      coordinators: ["a.lan:7443", "[fd00::2]:7443"],
      healthChecks: [{ name: "zfs", command: ["zpool", "status", "-x"] }, { name: "disk", command: ["test", "-b", "/dev/sda"], expect: "", timeoutSeconds: 5 }],
      settings: { reportIntervalSeconds: 10, system: { hardwareConfig: "/etc/hw.nix" } },
      extraArgs: ["--flag=a b", "plain"],
      logLevel: "debug",
    });
    const json = unitJson(e, "nk/agent.json") as Record<string, unknown>;
    expect(json.coordinators).toEqual(["a.lan:7443", "[fd00::2]:7443"]);
    expect(json.healthChecks).toEqual([
      { name: "zfs", command: ["zpool", "status", "-x"], expect: "", timeoutSeconds: 30 },
      { name: "disk", command: ["test", "-b", "/dev/sda"], expect: "", timeoutSeconds: 5 },
    ]);
    expect(json).toMatchObject({ reportIntervalSeconds: 10, logLevel: "debug", system: { kind: "nixos", hardwareConfig: "/etc/hw.nix" } });
    expect(agentConfigSchema.safeParse(json).success).toBe(true);
    expect(e.config.systemd.services["nk-agent"]!.serviceConfig.ExecStart).toBe("/stub/nk/bin/nk-agent --config /run/nk/agent.json '--flag=a b' plain");
  });

  it("leaves coordinators to the machine-local file when none is set, as bundles do", async () => {
    const e = await evaluate("agent", {}, "n2");
    expect(e.failedAssertions).toEqual([]);
    expect(unitJson(e, "nk/agent.json")).not.toHaveProperty("coordinators");
  });

  it("arms the self-update guard on every activation and checks it from a timer", async () => {
    const e = await evaluate("agent", { coordinator: "c.lan:7443", guard: { deadlineSeconds: 600, intervalSeconds: 20 } });
    const activation = e.config.system!.activationScripts["nk-agent-guard"]!.text;
    expect(activation).toContain('/stub/store/nk-agent-guard arm "$systemConfig" || echo');
    expect(activation).toContain("NK_GUARD_PACKAGE=/stub/nk ");
    expect(activation).toContain("NK_GUARD_DEADLINE=600 ");
    const guard = e.config.systemd.services["nk-agent-guard"]!;
    expect(guard.serviceConfig).toMatchObject({ Type: "oneshot", User: "root", ExecStart: "/stub/store/nk-agent-guard check" });
    expect(guard.restartIfChanged).toBe(false);
    expect(guard.environment).toEqual({
      NK_GUARD_STATE_DIR: "/var/lib/nk-agent",
      NK_GUARD_PACKAGE: "/stub/nk",
      NK_GUARD_DEADLINE: "600",
      NK_GUARD_PROFILE: "/nix/var/nix/profiles/system",
      NK_GUARD_CURRENT: "/run/current-system",
    });
    expect(e.config.systemd.timers!["nk-agent-guard"]).toMatchObject({ wantedBy: ["timers.target"], timerConfig: { OnUnitActiveSec: "20s" } });

    const off = await evaluate("agent", { coordinator: "c.lan:7443", guard: { enable: false } });
    expect(off.config.systemd.timers).toBeUndefined();
    expect(off.config.system).toBeUndefined();
  });

  it("fails with readable assertions on bad settings", async () => {
    const messages = async (service: Record<string, unknown>, host?: string) => (await evaluate("agent", service, host)).failedAssertions;
    expect(await messages({ localConfigFile: null })).toEqual([expect.stringContaining("set coordinator (or coordinators)")]);
    expect(await messages({ coordinator: "coord.lan" })).toEqual([expect.stringContaining('expected host:port, e.g. coordinator.lan:7443; got ["coord.lan"]')]);
    expect(await messages({ tokenFile: "token" })).toEqual([expect.stringContaining("must be absolute paths")]);
    expect(await messages({ tokenFile: "/nix/store/abc-token" })).toEqual([expect.stringContaining("must not be in the Nix store")]);
    expect(await messages({}, "Not_A_Label")).toEqual([expect.stringContaining('a DNS label (lower-case letters, digits, \'-\'); got "Not_A_Label"')]);
    expect(await messages({ stateDir: "/srv/nk" })).toEqual([expect.stringContaining("under /var/lib/")]);
    expect(await messages({ stateDir: "/var/lib/../etc" })).toEqual([expect.stringContaining("under /var/lib/")]);
    expect(await messages({ guard: { deadlineSeconds: 60 } })).toEqual([expect.stringContaining("at least 120")]);
  });

  it("refuses a Nix path for tokenFile, which would copy the secret into the store", async () => {
    const err = await nixEvalError(`${moduleExpr("agent", `{ services.nk-agent = { enable = true; tokenFile = /etc/nk/token; }; }`)}.config`);
    expect(err).toContain("The option `services.nk-agent.tokenFile' has a value that is not of type string");
  });

  it("merges the machine-local file under the module's JSON when the agent starts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-agent-prepare-"));
    try {
      const settings = { services: { "nk-agent": { enable: true, localConfigFile: join(dir, "local.json") } } };
      const e = await evalModule<Evaluated>("agent", settings, "", "n1");
      // The prepare script as the module writes it, pointed at temp files instead of the store and /run/nk.
      const text = await nixEval<string>(`${moduleExpr("agent", nixValue(settings), "n1", SCRIPTS_AS_TEXT)}.config.systemd.services.nk-agent.serviceConfig.ExecStartPre`);
      const base = join(dir, "module.json");
      const out = join(dir, "agent.json");
      await writeFile(base, e.etcText["nk/agent.json"]!);
      const runnable = text.replaceAll("/stub/jq/bin/jq", "jq").replaceAll("/stub/store/nk-agent.json", base).replaceAll("/run/nk/agent.json", out);
      await writeFile(join(dir, "prepare.sh"), runnable);

      await run("bash", [join(dir, "prepare.sh")]);
      expect(JSON.parse(await readFile(out, "utf8"))).toEqual(JSON.parse(await readFile(base, "utf8")));

      await writeFile(join(dir, "local.json"), JSON.stringify({ coordinators: ["local.lan:7443"], caFile: "/elsewhere/ca.pem", reportIntervalSeconds: 7 }));
      await run("bash", [join(dir, "prepare.sh")]);
      const merged = JSON.parse(await readFile(out, "utf8")) as Record<string, unknown>;
      // Local fills what the module leaves unset; the module's own values win.
      expect(merged).toMatchObject({ coordinators: ["local.lan:7443"], reportIntervalSeconds: 7, caFile: "/etc/nk/ca.pem", node: "n1" });
      expect(agentConfigSchema.safeParse(merged).success).toBe(true);
      expect((await stat(out)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
