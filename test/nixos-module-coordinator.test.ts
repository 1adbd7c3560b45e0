// The nk-coordinator NixOS module evaluated without nixpkgs (stub lib): options, unit, secrets, firewall, assertions.
import { describe, expect, it } from "vitest";
import { coordinatorConfigSchema } from "../coordinator/src/config/index.js";
import { evalModule, evaluate, moduleExpr, nixEvalError, nixValue, unitJson, type Evaluated } from "./nix/nix-eval.js";

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
