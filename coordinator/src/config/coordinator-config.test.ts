// The coordinator config schema: explicit Kubernetes access, and plain HTTP only when asked for and only on loopback;
// a rule across settings names the flag or the file's line that gave each.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkConfig, loadConfigFile } from "../../../shared/src/config/index.js";
import { COORDINATOR_FLAGS } from "./coordinator-flags.js";
import { coordinatorConfigSchema, isLoopbackListen } from "./coordinator-config.js";
import { withExplainedKeys } from "./explain-unknown-keys.js";

describe("coordinator config: Kubernetes access is explicit", () => {
  const load = (raw: Record<string, unknown>) => checkConfig(coordinatorConfigSchema, raw, "coordinator.yaml");

  it("refuses a config with neither a kubeconfig nor kube: none, saying what to set", () => {
    expect(() => load({})).toThrow(
      "coordinator.yaml is invalid:\n  kube: set exactly one of kubeconfigFile (drains, cordons and node readiness through Kubernetes) or kube: none (nodes are then rebooted without a drain or a Ready check)",
    );
  });

  it("refuses both at once, naming both", () => {
    expect(() => load({ kubeconfigFile: "/etc/nk/kubeconfig", kube: "none" })).toThrow("coordinator.yaml is invalid:\n  kubeconfigFile and kube: set exactly one of kubeconfigFile");
  });

  it("accepts either one alone", () => {
    expect(load({ kubeconfigFile: "/etc/nk/kubeconfig" })).toMatchObject({ kubeconfigFile: "/etc/nk/kubeconfig" });
    expect(load({ kube: "none" }).kube).toBe("none");
    expect(() => load({ kube: "some" })).toThrow(/kube: /);
  });
});

describe("http.plaintext", () => {
  const parse = (http: Record<string, unknown>) => coordinatorConfigSchema.safeParse({ kube: "none", http });

  it("is off by default: the listener serves HTTPS", () => {
    expect(coordinatorConfigSchema.parse({ kube: "none" }).http).toMatchObject({ listen: "0.0.0.0:7080", plaintext: false, publicStatus: true });
  });

  it("is accepted on loopback addresses only", () => {
    for (const listen of ["127.0.0.1:7080", "127.1.2.3:80", "[::1]:7080", "localhost:7080"]) {
      expect(parse({ listen, plaintext: true }).success, listen).toBe(true);
    }
    for (const listen of ["0.0.0.0:7080", "[::]:7080", "10.0.0.5:7080", "coordinator.lan:7080", "128.0.0.1:7080"]) {
      const parsed = parse({ listen, plaintext: true });
      expect(parsed.success, listen).toBe(false);
      expect(parsed.error?.issues[0]).toMatchObject({ path: ["http", "plaintext"], message: expect.stringContaining("plain HTTP is allowed only on a loopback address") });
    }
    // A malformed address is one problem, not also a plaintext one.
    expect(parse({ listen: "bad", plaintext: true }).error?.issues.map((i) => i.path.join("."))).toEqual(["http.listen"]);
  });

  it("blames --http-listen when the flag gave the address, and the file's lines when the file gave both", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-coordinator-config-"));
    const file = join(dir, "coordinator.yaml");
    const load = (listen?: string) => loadConfigFile(withExplainedKeys(coordinatorConfigSchema), file, { http: listen ? { listen } : undefined }, COORDINATOR_FLAGS);
    const expected = "plain HTTP is allowed only on a loopback address (127.0.0.0/8, [::1] or localhost), not 0.0.0.0:7080: drop http.plaintext to serve HTTPS with the coordinator's CA, or listen on one (http.listen or --http-listen), e.g. 127.0.0.1:7080";
    try {
      await writeFile(file, "kube: none\nhttp:\n  listen: 127.0.0.1:7080\n  plaintext: true\n");
      await expect(load("0.0.0.0:7080")).rejects.toThrow(`${file} and the command line are invalid:\n  --http-listen and http.plaintext (${file}:4): ${expected}`);
      expect((await load()).http).toMatchObject({ listen: "127.0.0.1:7080", plaintext: true });
      await writeFile(file, "kube: none\nhttp:\n  listen: 0.0.0.0:7080\n  plaintext: true\n");
      await expect(load()).rejects.toThrow(`${file} is invalid:\n  http.listen (${file}:3) and http.plaintext (${file}:4): ${expected}`);
      expect((await load("127.0.0.1:7080")).http).toMatchObject({ listen: "127.0.0.1:7080", plaintext: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("recognises loopback listen addresses", () => {
    expect([isLoopbackListen("127.0.0.1:1"), isLoopbackListen("[::1]:1"), isLoopbackListen("LOCALHOST:1"), isLoopbackListen("0.0.0.0:1"), isLoopbackListen("[::ffff:127.0.0.1]:1")]).toEqual([true, true, true, false, false]);
  });
});

describe("unknown keys", () => {
  const load = (raw: Record<string, unknown>) => checkConfig(withExplainedKeys(coordinatorConfigSchema), raw, "coordinator.yaml");

  it("are named at their own path, with the keys expected there and the nearest one", () => {
    expect(() => load({ kube: "none", http: { publicStaus: false }, heartbeatSecond: 5 })).toThrow(
      "coordinator.yaml is invalid:\n" +
        "  http.publicStaus: unknown key (did you mean publicStatus? expected one of listen, publicStatus, maxPushBytes, plaintext, publicUrl); remove it or fix its spelling\n" +
        "  heartbeatSecond: unknown key (did you mean heartbeatSeconds? expected one of stateDir, grpc, http, tls, adminTokenFile, kubeconfigFile, kube, store, source, heartbeatSeconds, healthCheckIntervalSeconds, leaseDeadlineGraceSeconds, previewTtlMinutes, id, logLevel); remove it or fix its spelling",
    );
  });

  it("follow the store's kind into its own keys", () => {
    expect(() => load({ kube: "none", store: { kind: "etcd", endpoints: ["http://127.0.0.1:2379"], prefx: "/nk/" }, source: { kind: "upstream", url: "https://git.example.invalid/x.git" } })).toThrow(
      "store.prefx: unknown key (did you mean prefix? expected one of kind, endpoints, prefix, tls, auth, secretsKeyFile); remove it or fix its spelling",
    );
  });
});

describe("store.kind etcd", () => {
  it("names the store's kind as the setting to change when the source is left at its default", () => {
    const raw = { kube: "none", store: { kind: "etcd", endpoints: ["http://127.0.0.1:2379"] } };
    expect(() => checkConfig(coordinatorConfigSchema, raw, "c.yaml")).toThrow("c.yaml is invalid:\n  store.kind: with store.kind etcd every coordinator follows one upstream repo: set source.kind upstream");
  });
});

describe("store.endpoints", () => {
  it("takes http(s) URLs of etcd members only", () => {
    const parse = (endpoints: string[]) => coordinatorConfigSchema.safeParse({ kube: "none", store: { kind: "etcd", endpoints }, source: { kind: "upstream", url: "https://git.example.invalid/x.git" } }).success;
    expect(parse(["http://127.0.0.1:2379", "https://etcd1.lan:2379/"])).toBe(true);
    expect(parse(["etcd1:2379"])).toBe(false);
    expect(parse(["127.0.0.1:2379"])).toBe(false);
  });
});
