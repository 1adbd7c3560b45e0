// E2E in the simulated cluster: a pushed manifest is applied (nkctl manifests status -o json), a removed one pruned, a bad one refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySetId, parentRef, APPLYSET_PART_OF } from "../../shared/src/manifests/index.js";
import { eventually } from "../support/eventually.js";
import { startProcessCluster, type ProcessSimCluster } from "../support/sim-cluster-process.js";

interface StatusJson {
  state: string;
  revision: string;
  appliedRevision: string;
  error: string;
  objects: { key: string; source: string; action: string; health: string; exists: boolean; inSync: boolean }[];
}

const GREETING = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\n  namespace: hello\ndata:\n  text: hi\n";

let cluster: ProcessSimCluster;

async function manifestsStatus(): Promise<StatusJson> {
  const res = await cluster.nkctl(["-o", "json", "manifests", "status"]);
  if (res.code !== 0 && res.code !== 1) throw new Error(`nkctl manifests status exited ${res.code}: ${res.stderr}`);
  return JSON.parse(res.stdout) as StatusJson;
}

/** Waits until the coordinator reports `revision` applied (nkctl, as an operator would look). */
function appliedAt(revision: string): Promise<StatusJson> {
  return eventually(async () => {
    const s = await manifestsStatus();
    return s.appliedRevision === revision && s.state === "applied" ? s : undefined;
  }, 60_000, `manifests of ${revision.slice(0, 12)} to be applied`);
}

describe("manifests in the simulated cluster", () => {
  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: ["n1"] });
    await cluster.converged(120_000);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("applies a pushed manifest, shows it in nkctl manifests status -o json, and prunes it once removed", async () => {
    const added = await cluster.writeRepoFile("manifests/apps/greeting.yaml", GREETING).then(() => cluster.push("add a greeting"));
    const applied = await appliedAt(added);
    expect(applied.error).toBe("");
    expect(applied.objects).toEqual(
      expect.arrayContaining([
        { key: "Namespace hello", source: "manifests/hello.yaml:1", action: expect.stringMatching(/^(created|unchanged)$/), message: "", health: "healthy", healthDetail: "active", exists: true, inSync: true },
        { key: "ConfigMap hello/greeting", source: "manifests/apps/greeting.yaml:1", action: "created", message: "", health: "healthy", healthDetail: "exists", exists: true, inSync: true },
      ]),
    );
    const id = applySetId(parentRef("homelab"));
    expect(cluster.kube.object("", "ConfigMap", "hello", "greeting")).toMatchObject({ data: { text: "hi" }, metadata: { labels: { [APPLYSET_PART_OF]: id } } });
    expect(cluster.kube.calls("PATCH", "/api/v1/namespaces/hello/configmaps/greeting")[0]).toMatchObject({ query: { fieldManager: "nk" }, contentType: "application/apply-patch+yaml" });

    const removed = await cluster.writeRepoFile("manifests/apps/greeting.yaml", null).then(() => cluster.push("remove the greeting"));
    const after = await appliedAt(removed);
    expect(after.objects.map((o) => `${o.action} ${o.key}`)).toEqual(["unchanged Namespace hello", "pruned ConfigMap hello/greeting"]);
    expect(cluster.kube.object("", "ConfigMap", "hello", "greeting")).toBeUndefined();
    expect(cluster.kube.calls("DELETE").map((r) => r.path)).toEqual(["/api/v1/namespaces/hello/configmaps/greeting"]);
    const events = await cluster.events();
    expect(events.filter((e) => e.kind === "manifests-applied").map((e) => e.message)).toContain(`manifests of ${removed.slice(0, 12)} applied: 1 unchanged, 1 pruned`);
    // Manifests are not in any bundle: the two pushes rebuilt no node.
    const status = await cluster.status();
    expect(status.nodes.every((n) => n.desiredRevision !== removed && n.desiredRevision !== added)).toBe(true);
  }, 120_000);

  it("refuses a bad manifest at push with file:line", async () => {
    await cluster.writeRepoFile("manifests/bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: hello\n");
    const err = await cluster.push("a manifest without a name").then(() => null, (e: Error) => e.message);
    expect(err).toMatch(/remote: manifests\/bad\.yaml:4:3 metadata\.name: is required/);
    expect(err).toMatch(/pre-receive hook declined/);
  });
});
