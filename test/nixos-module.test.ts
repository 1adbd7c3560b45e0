// The NixOS modules evaluated without nixpkgs (stub lib): options, the units they produce, the JSON they write, assertions; every .nix parses.
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentConfigSchema } from "../agent/src/config/index.js";
import { coordinatorConfigSchema } from "../coordinator/src/config/index.js";
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

describe("services.nk-coordinator", () => {
  // Kubernetes access (or its explicit absence) is required; these cases are about other settings.
  const coordinator = (service: Record<string, unknown>) => evaluate("coordinator", "kubeconfigFile" in service || "kube" in service ? service : { kube: "none", ...service });

  it("declares its options with their types and defaults", async () => {
    const { options } = await evalModule<Evaluated>("coordinator", {}, "");
    const o = (name: string) => options[`services.nk-coordinator.${name}`];
    expect(Object.keys(options).sort()).toEqual(
      ["adminTokenFile", "enable", "etcd.caFile", "etcd.certFile", "etcd.endpoints", "etcd.keyFile", "etcd.passwordFile", "etcd.prefix", "etcd.secretsKeyFile", "etcd.username", "extraArgs", "kube", "kubeconfigFile", "listen.grpc", "listen.http", "logLevel", "openFirewall", "package", "publicStatus", "settings", "source.branch", "source.intervalSeconds", "source.kind", "source.passwordFile", "source.sshKeyFile", "source.sshKnownHostsFile", "source.url", "source.username", "source.webhookSecretFile", "stateDir", "store", "tls.hosts"].map((n) => `services.nk-coordinator.${n}`),
    );
    expect(o("listen.grpc")).toMatchObject({ type: "string", default: "0.0.0.0:7443" });
    expect(o("listen.http")).toMatchObject({ type: "string", default: "0.0.0.0:7080" });
    expect(o("stateDir")).toMatchObject({ default: "/var/lib/nk-coordinator" });
    expect(o("store")).toMatchObject({ type: 'one of "file", "etcd"', default: "file" });
    expect(o("source.kind")).toMatchObject({ type: 'one of "origin", "upstream"', default: "origin" });
    expect(o("openFirewall")).toMatchObject({ type: "boolean", default: false });
    expect(o("publicStatus")).toMatchObject({ type: "boolean", default: false });
    expect(o("adminTokenFile")).toMatchObject({ type: "null or string", default: null });
  });

  it("runs as its own hardened dynamic user with git and nix on its path", async () => {
    const e = await coordinator({});
    expect(e.failedAssertions).toEqual([]);
    const unit = e.config.systemd.services["nk-coordinator"]!;
    expect(unit.serviceConfig.ExecStart).toBe("/stub/nk/bin/nk-coordinator --config /stub/store/nk-coordinator.json");
    expect(unit.path).toEqual(["/stub/git", "/stub/nix"]);
    expect(unit.serviceConfig).toMatchObject({
      DynamicUser: true,
      User: "nk-coordinator",
      Group: "nk-coordinator",
      StateDirectory: "nk-coordinator",
      StateDirectoryMode: "0700",
      ProtectSystem: "strict",
      ProtectHome: true,
      PrivateTmp: true,
      PrivateDevices: true,
      NoNewPrivileges: true,
      RestrictAddressFamilies: ["AF_UNIX", "AF_INET", "AF_INET6"],
      SystemCallFilter: ["@system-service"],
      MemoryDenyWriteExecute: false,
      CapabilityBoundingSet: [""],
      AmbientCapabilities: [],
      LoadCredential: [],
    });
    const json = unitJson(e, "nk/coordinator.json");
    expect(json).toEqual({
      stateDir: "/var/lib/nk-coordinator",
      logLevel: "info",
      grpc: { listen: "0.0.0.0:7443" },
      http: { listen: "0.0.0.0:7080", publicStatus: false },
      tls: { hosts: [] },
      store: { kind: "file" },
      source: { kind: "origin" },
      kube: "none",
    });
    expect(coordinatorConfigSchema.safeParse(json).success).toBe(true);
  });

  it("opens the firewall only when asked, for both ports", async () => {
    expect((await coordinator({})).config.networking).toBeUndefined();
    const open = await coordinator({ openFirewall: true, listen: { grpc: "[::]:9443", http: "10.0.0.2:8080" } });
    expect(open.config.networking).toEqual({ firewall: { allowedTCPPorts: [9443, 8080] } });
  });

  it("passes secrets in with LoadCredential and points the JSON at the credentials", async () => {
    const e = await coordinator({
      adminTokenFile: "/etc/nk/admin.token",
      kubeconfigFile: "/etc/rancher/k3s/k3s.yaml",
      store: "etcd",
      etcd: {
        endpoints: ["http://10.0.0.1:2379", "https://10.0.0.2:2379"],
        caFile: "/etc/nk/etcd-ca.pem",
        certFile: "/etc/nk/etcd.pem",
        keyFile: "/etc/nk/etcd-key.pem",
        username: "nk",
        passwordFile: "/etc/nk/etcd.password",
        secretsKeyFile: "/etc/nk/secrets.key",
      },
      source: { kind: "upstream", url: "https://git.example/ops/inventory.git", webhookSecretFile: "/etc/nk/webhook" },
      tls: { hosts: ["coord.lan"] },
      settings: { heartbeatSeconds: 5 },
    });
    expect(e.failedAssertions).toEqual([]);
    expect(e.config.systemd.services["nk-coordinator"]!.serviceConfig.LoadCredential).toEqual([
      "admin-token:/etc/nk/admin.token",
      "kubeconfig:/etc/rancher/k3s/k3s.yaml",
      "webhook-secret:/etc/nk/webhook",
      "etcd-ca:/etc/nk/etcd-ca.pem",
      "etcd-cert:/etc/nk/etcd.pem",
      "etcd-key:/etc/nk/etcd-key.pem",
      "etcd-password:/etc/nk/etcd.password",
      "etcd-secrets-key:/etc/nk/secrets.key",
    ]);
    const json = unitJson(e, "nk/coordinator.json");
    expect(json).toMatchObject({
      adminTokenFile: "/run/credentials/nk-coordinator.service/admin-token",
      kubeconfigFile: "/run/credentials/nk-coordinator.service/kubeconfig",
      store: {
        kind: "etcd",
        endpoints: ["http://10.0.0.1:2379", "https://10.0.0.2:2379"],
        prefix: "/nk/",
        tls: {
          caFile: "/run/credentials/nk-coordinator.service/etcd-ca",
          certFile: "/run/credentials/nk-coordinator.service/etcd-cert",
          keyFile: "/run/credentials/nk-coordinator.service/etcd-key",
        },
        auth: { username: "nk", passwordFile: "/run/credentials/nk-coordinator.service/etcd-password" },
        secretsKeyFile: "/run/credentials/nk-coordinator.service/etcd-secrets-key",
      },
      source: {
        kind: "upstream",
        url: "https://git.example/ops/inventory.git",
        branch: "main",
        intervalSeconds: 60,
        webhookSecretFile: "/run/credentials/nk-coordinator.service/webhook-secret",
      },
      tls: { hosts: ["coord.lan"] },
      heartbeatSeconds: 5,
    });
    expect(coordinatorConfigSchema.safeParse(json).success).toBe(true);
  });

  it("hands upstream credentials over as files: a password through LoadCredential, an ssh key with ssh on the path", async () => {
    const upstream = { kind: "upstream", url: "https://git.example/ops/inventory.git" };
    const https = await coordinator({ source: { ...upstream, username: "ops", passwordFile: "/etc/nk/upstream.token" } });
    expect(https.failedAssertions).toEqual([]);
    expect(https.config.systemd.services["nk-coordinator"]!.serviceConfig.LoadCredential).toEqual(["upstream-password:/etc/nk/upstream.token"]);
    const httpsJson = unitJson(https, "nk/coordinator.json");
    expect(httpsJson).toMatchObject({ source: { ...upstream, username: "ops", passwordFile: "/run/credentials/nk-coordinator.service/upstream-password" } });
    expect(JSON.stringify(httpsJson)).not.toContain("/etc/nk/upstream.token");
    expect(coordinatorConfigSchema.safeParse(httpsJson).success).toBe(true);

    const sshSource = { kind: "upstream", url: "ssh://git@git.example/ops/inventory.git", sshKeyFile: "/etc/nk/upstream_ed25519", sshKnownHostsFile: "/etc/nk/known_hosts" };
    const ssh = await coordinator({ source: sshSource });
    expect(ssh.failedAssertions).toEqual([]);
    const unit = ssh.config.systemd.services["nk-coordinator"]!;
    expect(unit.serviceConfig.LoadCredential).toEqual(["upstream-ssh-key:/etc/nk/upstream_ed25519"]);
    expect(unit.path).toEqual(["/stub/git", "/stub/nix", "/stub/openssh"]);
    const sshJson = unitJson(ssh, "nk/coordinator.json");
    expect(sshJson).toMatchObject({ source: { sshKeyFile: "/run/credentials/nk-coordinator.service/upstream-ssh-key", sshKnownHostsFile: "/etc/nk/known_hosts" } });
    expect(coordinatorConfigSchema.safeParse(sshJson).success).toBe(true);

    expect((await coordinator({ source: { ...sshSource, sshKnownHostsFile: null } })).failedAssertions).toEqual([expect.stringContaining("sshKeyFile and sshKnownHostsFile go together")]);
    expect((await coordinator({ source: { kind: "upstream", url: "https://ops:pw@git.example/x.git" } })).failedAssertions).toEqual([expect.stringContaining("source.url must not carry a password")]);
  });

  it("keeps only the capability a port below 1024 needs", async () => {
    const e = await coordinator({ listen: { http: "0.0.0.0:80" } });
    expect(e.config.systemd.services["nk-coordinator"]!.serviceConfig).toMatchObject({
      CapabilityBoundingSet: ["CAP_NET_BIND_SERVICE"],
      AmbientCapabilities: ["CAP_NET_BIND_SERVICE"],
    });
  });

  it("fails with readable assertions on bad settings", async () => {
    const messages = async (service: Record<string, unknown>) => (await coordinator(service)).failedAssertions;
    const upstream = { kind: "upstream", url: "https://git.example/inv.git" };
    expect(await messages({ store: "etcd" })).toEqual([
      expect.stringContaining('store = "etcd" needs services.nk-coordinator.etcd.endpoints'),
      expect.stringContaining('store = "etcd" needs source.kind = "upstream"'),
    ]);
    expect(await messages({ store: "etcd", source: upstream, etcd: { endpoints: ["10.0.0.1:2379"] } })).toEqual([expect.stringContaining("must be http:// or https:// URLs")]);
    const etcd = { endpoints: ["https://10.0.0.1:2379"] };
    expect(await messages({ store: "etcd", source: upstream, etcd: { ...etcd, certFile: "/etc/c.pem" } })).toEqual([expect.stringContaining("certFile and keyFile go together, and need caFile")]);
    expect(await messages({ store: "etcd", source: upstream, etcd: { ...etcd, username: "nk" } })).toEqual([expect.stringContaining("username and passwordFile go together")]);
    expect(await messages({ source: { kind: "upstream" } })).toEqual([expect.stringContaining('source.kind = "upstream" needs services.nk-coordinator.source.url')]);
    expect(await messages({ source: { kind: "upstream", url: "u", intervalSeconds: 2 } })).toEqual([expect.stringContaining("at least 5")]);
    expect(await messages({ adminTokenFile: "admin.token", kubeconfigFile: "/nix/store/x-k3s.yaml" })).toEqual([
      expect.stringContaining('adminTokenFile, kubeconfigFile must be absolute paths outside the Nix store (which every user can read); got ["admin.token","/nix/store/x-k3s.yaml"]'),
    ]);
    const kubeChoice = expect.stringContaining('set exactly one of kubeconfigFile (drains, cordons and node readiness through Kubernetes) or kube = "none"');
    expect((await evaluate("coordinator", {})).failedAssertions).toEqual([kubeChoice]);
    expect(await messages({ kube: "none", kubeconfigFile: "/etc/k3s.yaml" })).toEqual([kubeChoice]);
    expect(await messages({ listen: { grpc: "7443" } })).toEqual([expect.stringContaining("must be host:port")]);
    expect(await messages({ stateDir: "/opt/nk" })).toEqual([expect.stringContaining("under /var/lib/")]);
  });

  it("rejects a value of the wrong type with the option's name", async () => {
    const err = await nixEvalError(`${moduleExpr("coordinator", nixValue({ services: { "nk-coordinator": { enable: true, store: "sqlite" } } }))}.config`);
    expect(err).toContain("The option `services.nk-coordinator.store' has a value that is not of type one of \"file\", \"etcd\"");
  });
});
