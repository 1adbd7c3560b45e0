// E2E: inventories imported by the real nkctl from the nk3 and csv-plans fixtures are accepted by a coordinator and rolled out.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { SimAgentProcess } from "../../demo/agent-supervisor.js";
import type { EnrollNodeRequest, EnrollNodeResponse, GetStatusRequest, GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { adminCall, eventually, REPO_ROOT, startHarness, type Harness } from "../support/coordinator-harness.js";
import { pinSynthetic } from "../support/pin-synthetic.js";
import { disruptionWindows, maxConcurrent } from "../support/disruption-windows.js";

const run = promisify(execFile);
const FIXTURES = join(REPO_ROOT, "test", "fixtures");
const ONLINE = new Set(["secret", "status", "nodes"]);
const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop";

interface Site {
  readonly harness: Harness;
  readonly kube: FakeKubeApiserver;
  readonly dir: string;
  readonly caFile: string;
  readonly tokenFile: string;
  nkctl(args: readonly string[], stdin?: string): Promise<{ stdout: string; stderr: string }>;
  status(): Promise<GetStatusResponse>;
}

/** A coordinator (with a fake kube-apiserver) and what nkctl needs to talk to it. */
async function startSite(): Promise<Site> {
  const kube = await FakeKubeApiserver.start();
  const dir = await mkdtemp(join(tmpdir(), "nk-import-e2e-"));
  await writeFile(join(dir, "kubeconfig"), kube.kubeconfigYaml());
  const harness = await startHarness({ heartbeatSeconds: 1, healthCheckIntervalSeconds: 1, kubeconfigFile: join(dir, "kubeconfig") });
  const caFile = join(dir, "ca.crt");
  const tokenFile = join(dir, "admin.token");
  await writeFile(caFile, harness.coordinator.caPem);
  await writeFile(tokenFile, `${harness.coordinator.adminToken}\n`, { mode: 0o600 });
  const { client, metadata } = harness.admin();
  return {
    harness,
    kube,
    dir,
    caFile,
    tokenFile,
    nkctl(args, stdin) {
      const online = ["--coordinator", `127.0.0.1:${harness.coordinator.grpcPort}`, "--ca-file", caFile, "--token-file", tokenFile];
      return new Promise((resolve, reject) => {
        const child = execFile(process.execPath, [join(REPO_ROOT, "bin/nkctl.js"), ...args, ...(ONLINE.has(args[0]!) ? online : [])], { cwd: dir }, (err, stdout, stderr) =>
          err ? reject(new Error(`nkctl ${args.join(" ")} failed: ${stderr}`)) : resolve({ stdout, stderr }),
        );
        child.stdin?.end(stdin ?? "");
      });
    },
    status: () => adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata),
  };
}

/** Replaces the checkout's inventory with what `nkctl import` writes, stores the token secret it names, and pushes. */
async function importAndPush(site: Site, importArgs: readonly string[]): Promise<{ inventory: { cluster: { k3s: { token_secret: string } }; nodes: Record<string, { role: string; address: string }> }; push: string; notes: string }> {
  const checkout = site.harness.checkout;
  for (const entry of await readdir(checkout)) if (entry !== ".git") await rm(join(checkout, entry), { recursive: true, force: true });
  const imported = await site.nkctl([...importArgs, "--out", checkout, "--ssh-key", SSH_KEY]);
  // What `nkctl pin` does (the simulated nodes fetch nothing; test/nix/pin.test.ts runs the real one).
  await pinSynthetic(checkout);
  const inventory = parse(await readFile(join(checkout, "inventory.yaml"), "utf8")) as Awaited<ReturnType<typeof importAndPush>>["inventory"];
  const secret = inventory.cluster.k3s.token_secret;
  const set = await site.nkctl(["secret", "set", secret], "k3s-secret-token-value\n");
  expect(set.stdout).toContain(`secret ${secret} set`);
  return { inventory, push: await site.harness.push(`import: ${importArgs.join(" ")}`), notes: imported.stderr };
}

describe("imported inventories", () => {
  const sites: Site[] = [];
  const agents: SimAgentProcess[] = [];

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    for (const site of sites) {
      await site.harness.close();
      await site.kube.close();
      await rm(site.dir, { recursive: true, force: true });
    }
  });

  let nk3: Site;
  beforeAll(async () => {
    nk3 = await startSite();
    sites.push(nk3);
  }, 180_000);

  it("an nk3 import is accepted, its uuid5 nodes appear with their roles, and simulated agents converge", async () => {
    const { inventory, push, notes } = await importAndPush(nk3, ["import", "nk3", join(FIXTURES, "nk3", "inventory.yaml")]);
    expect(notes).toContain("nkctl secret set k3s-token");
    expect(push).toMatch(/remote: nk: revision [0-9a-f]{12} adopted: 3 node\(s\) get a new bundle/);
    // nk3 derived hostnames as uuid5(OID, address); the importer keeps them so Kubernetes node names do not change.
    const expected = {
      "47909154-865f-5528-ba4c-cc758abfb00b": "192.168.77.21",
      "d7f726a1-e847-523b-a718-a5021e23f9ed": "192.168.77.22",
      "62200a4d-0b00-5d60-8376-9ab5edb1bf6a": "192.168.77.23",
    };
    expect(Object.keys(inventory.nodes).sort()).toEqual(Object.keys(expected).sort());
    const status = await nk3.status();
    expect(status.cluster).toBe("nk3");
    expect(status.nodes.map((n) => [n.name, n.role, n.address]).sort()).toEqual(Object.entries(expected).map(([name, address]) => [name, "server", address]).sort());
    expect(status.nodes.every((n) => n.desiredSha256 !== "")).toBe(true);

    const { client, metadata } = nk3.harness.admin();
    for (const node of Object.keys(expected)) {
      nk3.kube.setNode({ name: node, ready: true });
      const dir = join(nk3.dir, "nodes", node);
      await mkdir(join(dir, "system"), { recursive: true });
      const { token } = await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node }, metadata);
      await writeFile(join(dir, "token"), `${token}\n`, { mode: 0o600 });
      const agent = new SimAgentProcess({ node, coordinators: [`127.0.0.1:${nk3.harness.coordinator.grpcPort}`], caFile: nk3.caFile, tokenFile: join(dir, "token"), dir, timeScale: 0.05, reportIntervalSeconds: 1 }, { rebootDelayMs: 300 });
      agents.push(agent);
    }
    await Promise.all(agents.map((a) => a.start()));
    const done = await eventually(
      async () => {
        const s = await nk3.status();
        return s.nodes.length === 3 && s.nodes.every((n) => n.connected && n.appliedSha256 === n.desiredSha256) && s.leases.length === 0 ? s : undefined;
      },
      150_000,
      "the nk3 nodes to converge",
    );
    expect(done.nodes.every((n) => n.health?.healthy)).toBe(true);
    // Its nixos-24.05 pin and the rbd module differ from the machines' initial systems: each node rebooted, one at a time.
    const windows = disruptionWindows(nk3.kube);
    expect(windows.map((w) => w.node).sort()).toEqual(Object.keys(expected).sort());
    expect(maxConcurrent(windows)).toBe(1);
    // The k3s token reached every node, from the secret the import named.
    for (const node of Object.keys(expected)) {
      const secrets = join(nk3.dir, "nodes", node, "secrets");
      expect((await readFile(join(secrets, (await readdir(secrets))[0]!), "utf8")).trim()).toBe("k3s-secret-token-value");
    }
  }, 200_000);

  it("a csv-plans import is accepted and its nodes appear with the importer's names and roles", async () => {
    const plans = await startSite();
    sites.push(plans);
    const { inventory, push } = await importAndPush(plans, ["import", "plans", join(FIXTURES, "plans")]);
    expect(inventory.cluster.k3s.token_secret).toBe("k3s-token");
    expect(push).toMatch(/remote: nk: revision [0-9a-f]{12} adopted: 5 node\(s\) get a new bundle/);
    const status = await plans.status();
    expect(status.cluster).toBe("plans");
    // larch has no k3s row: a NixOS host without k3s (role none); a host with a k3s server and agent becomes one server node.
    expect(status.nodes.map((n) => [n.name, n.role, n.address]).sort()).toEqual([
      ["birch", "server", "192.168.88.11"],
      ["cedar", "server", "192.168.88.12"],
      ["elm", "server", "192.168.88.13"],
      ["fir", "agent", "192.168.88.14"],
      ["larch", "none", "192.168.88.15"],
    ]);
    // birch's extra NixOS configuration came along from nixConfigs/.
    expect(await readFile(join(plans.harness.checkout, "nodes", "birch.nix"), "utf8")).toContain("services.fstrim.enable = true;");
    expect(status.nodes.every((n) => n.desiredSha256 !== "" && !n.enrolled)).toBe(true);
    // The coordinator renders what nkctl renders offline from the same checkout.
    const offline = JSON.parse((await plans.nkctl(["render", plans.harness.checkout, "-o", "json"])).stdout) as { bundles: Array<{ node: string; sha256: string }> };
    const shas = new Map(offline.bundles.map((b) => [b.node, b.sha256]));
    expect(shas.size).toBe(5);
    for (const n of status.nodes) expect(n.desiredSha256).toBe(shas.get(n.name));
  });
});
