// The real driver (client-node over HTTP) against the fake apiserver: apply, update, prune, CRDs, conflicts, diff, status.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ManifestSettings } from "../../../shared/src/inventory/index.js";
import { DEFAULT_MANIFEST_SETTINGS } from "../../../shared/src/inventory/parse-manifest-settings.js";
import { applySetId, parentRef, readManifests, APPLYSET_PART_OF } from "../../../shared/src/manifests/index.js";
import { WIDGET, WIDGET_CRD as CRD } from "../../../shared/src/manifests/test-manifests.js";
import { FakeKubeApiserver } from "../kube/fake-kube-apiserver.js";
import { InstantClock } from "../kube/instant-clock.js";
import { ManifestClient } from "./manifest-client.js";
import type { ApplyReport } from "./manifest-driver.js";
import { fakeKubeConfig } from "../kube/fake-kube-config.js";

const ID = applySetId(parentRef("lab"));
const NS = "apiVersion: v1\nkind: Namespace\nmetadata: { name: web }\n";
const cm = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, namespace: web }\ndata: ${data}\n`;
const DEPLOY = "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web, namespace: web }\nspec: { replicas: 2, selector: { matchLabels: { app: web } }, template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: web, image: nginx }] } } }\n";

let fake: FakeKubeApiserver;
let driver: ManifestClient;

function request(files: Record<string, string>, settings: ManifestSettings = DEFAULT_MANIFEST_SETTINGS, revision = "r1") {
  const read = readManifests(new Map(Object.entries(files)), settings);
  expect(read.diagnostics).toEqual([]);
  return { cluster: "lab", revision, objects: read.objects, settings };
}

function actions(report: ApplyReport): string[] {
  return report.objects.map((o) => `${o.action} ${o.key}`);
}

function writes(): string[] {
  return fake.requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path}`);
}

beforeAll(async () => {
  fake = await FakeKubeApiserver.start({ establishAfterReads: 2 });
  driver = new ManifestClient(fakeKubeConfig(fake), { clock: new InstantClock(), tuning: { establishPollMs: 100 } });
});

afterAll(() => fake.close());

beforeEach(() => {
  fake.requests.length = 0;
});

describe("ManifestClient against the fake apiserver", () => {
  it("creates objects with server-side apply, namespace first, and records the ApplySet parent", async () => {
    const report = await driver.apply(request({ "manifests/web.yaml": `${DEPLOY}---\n${cm("{ color: blue }")}---\n${NS}` }));
    expect(report.error).toBeUndefined();
    expect(actions(report)).toEqual(["created Namespace web", "created ConfigMap web/settings", "created Deployment.apps web/web"]);
    expect(writes()).toEqual([
      "PATCH /api/v1/namespaces/kube-system/secrets/nk-lab",
      "PATCH /api/v1/namespaces/web",
      "PATCH /api/v1/namespaces/web/configmaps/settings",
      "PATCH /apis/apps/v1/namespaces/web/deployments/web",
      "PATCH /api/v1/namespaces/kube-system/secrets/nk-lab",
    ]);
    for (const r of fake.requests.filter((x) => x.method === "PATCH")) {
      expect(r.contentType).toBe("application/apply-patch+yaml");
      expect(r.query).toEqual({ fieldManager: "nk" });
    }
    const settings = fake.object("", "ConfigMap", "web", "settings") as { metadata: { labels: Record<string, string>; managedFields: { manager: string; operation: string; fieldsV1: unknown }[] } };
    expect(settings.metadata.labels[APPLYSET_PART_OF]).toBe(ID);
    expect(settings.metadata.managedFields).toEqual([expect.objectContaining({ manager: "nk", operation: "Apply", fieldsV1: { "f:data": { "f:color": {} }, "f:metadata": { "f:labels": { [`f:${APPLYSET_PART_OF}`]: {} } } } })]);
    const parent = fake.object("", "Secret", "kube-system", "nk-lab") as { metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
    expect(parent.metadata.labels).toEqual({ "applyset.kubernetes.io/id": ID });
    expect(parent.metadata.annotations).toEqual({
      "applyset.kubernetes.io/tooling": "nk/v0.1.0",
      "applyset.kubernetes.io/contains-group-kinds": "ConfigMap,Deployment.apps,Namespace",
      "applyset.kubernetes.io/additional-namespaces": "web",
    });
  });

  it("updates a changed object, its field manager entry following the new fields, and leaves the rest unchanged", async () => {
    const report = await driver.apply(request({ "manifests/web.yaml": `${NS}---\n${cm("{ size: large }")}---\n${DEPLOY}` }, DEFAULT_MANIFEST_SETTINGS, "r2"));
    expect(actions(report)).toEqual(["unchanged Namespace web", "configured ConfigMap web/settings", "unchanged Deployment.apps web/web"]);
    const settings = fake.object("", "ConfigMap", "web", "settings") as { data: Record<string, string>; metadata: { managedFields: { manager: string; fieldsV1: { "f:data": unknown } }[] } };
    expect(settings.data).toEqual({ size: "large" });
    expect(settings.metadata.managedFields.find((m) => m.manager === "nk")?.fieldsV1["f:data"]).toEqual({ "f:size": {} });
  });

  it("prunes what left git, in reverse order, and never touches an object nobody put in git", async () => {
    const byHand = await fetch(`${fake.url}/api/v1/namespaces/web/configmaps?fieldManager=kubectl-create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "by-hand" }, data: { a: "1" } }) });
    expect(byHand.status).toBe(201);
    const report = await driver.apply(request({ "manifests/web.yaml": NS }, DEFAULT_MANIFEST_SETTINGS, "r3"));
    expect(actions(report)).toEqual(["unchanged Namespace web", "pruned Deployment.apps web/web", "pruned ConfigMap web/settings"]);
    expect(fake.calls("DELETE").map((r) => r.path)).toEqual(["/apis/apps/v1/namespaces/web/deployments/web", "/api/v1/namespaces/web/configmaps/settings"]);
    expect(fake.calls("GET", "/api/v1/namespaces/web/configmaps").find((r) => r.path.endsWith("/configmaps"))?.query).toEqual({ labelSelector: `${APPLYSET_PART_OF}=${ID}` });
    expect(fake.object("", "ConfigMap", "web", "settings")).toBeUndefined();
    expect(fake.object("", "ConfigMap", "web", "by-hand")).toMatchObject({ data: { a: "1" } });
    const parent = fake.object("", "Secret", "kube-system", "nk-lab") as { metadata: { annotations: Record<string, string> } };
    expect(parent.metadata.annotations["applyset.kubernetes.io/contains-group-kinds"]).toBe("Namespace");
  });

  it("applies a CRD and its custom resource from one push in order, waiting until it is Established", async () => {
    const report = await driver.apply(request({ "manifests/widget.yaml": WIDGET, "manifests/crd.yaml": CRD, "manifests/ns.yaml": NS }, DEFAULT_MANIFEST_SETTINGS, "r4"));
    expect(report.error).toBeUndefined();
    expect(actions(report)).toEqual(["created CustomResourceDefinition.apiextensions.k8s.io widgets.example.com", "unchanged Namespace web", "created Widget.example.com web/w1"]);
    const order = fake.requests.filter((r) => r.method === "PATCH" || r.path.endsWith("/customresourcedefinitions/widgets.example.com")).map((r) => `${r.method} ${r.path}`);
    const crdPatch = order.indexOf("PATCH /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com");
    const widgetPatch = order.indexOf("PATCH /apis/example.com/v1/namespaces/web/widgets/w1");
    expect(crdPatch).toBeGreaterThanOrEqual(0);
    expect(widgetPatch).toBeGreaterThan(crdPatch);
    // The schema's x-kubernetes-* field reached the server although client-node's model names it otherwise.
    expect(fake.object("apiextensions.k8s.io", "CustomResourceDefinition", null, "widgets.example.com")).toMatchObject({ spec: { versions: [{ schema: { openAPIV3Schema: { "x-kubernetes-preserve-unknown-fields": true } } }] } });
    expect(fake.object("example.com", "Widget", "web", "w1")).toMatchObject({ spec: { size: 3 }, metadata: { labels: { [APPLYSET_PART_OF]: ID } } });
  });

  it("reports a conflict with another field manager and does not force unless the inventory says so", async () => {
    const edit = await fetch(`${fake.url}/api/v1/namespaces/web/configmaps?fieldManager=kubectl-edit`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "shared" }, data: { mode: "theirs" } }) });
    expect(edit.status).toBe(201);
    const files = { "manifests/ns.yaml": NS, "manifests/crd.yaml": CRD, "manifests/widget.yaml": WIDGET, "manifests/shared.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: shared, namespace: web }\ndata: { mode: ours }\n" };
    const report = await driver.apply(request(files, DEFAULT_MANIFEST_SETTINGS, "r5"));
    expect(report.ok).toBe(false);
    const shared = report.objects.find((o) => o.key === "ConfigMap web/shared");
    expect(shared).toMatchObject({ action: "conflict", source: "manifests/shared.yaml:1" });
    expect(shared?.message).toContain('conflict with "kubectl-edit"');
    expect(shared?.message).toContain(".data.mode");
    expect(report.error).toBe("1 object(s) not applied; nothing pruned");
    expect(fake.calls("DELETE")).toEqual([]);
    expect(fake.object("", "ConfigMap", "web", "shared")).toMatchObject({ data: { mode: "theirs" } });
    expect(fake.calls("PATCH", "/api/v1/namespaces/web/configmaps/shared")[0]?.query).toEqual({ fieldManager: "nk" });

    const forced = await driver.apply(request(files, { ...DEFAULT_MANIFEST_SETTINGS, forceConflicts: true }, "r6"));
    expect(forced.ok).toBe(true);
    expect(fake.calls("PATCH", "/api/v1/namespaces/web/configmaps/shared").at(-1)?.query).toEqual({ fieldManager: "nk", force: "true" });
    const after = fake.object("", "ConfigMap", "web", "shared") as { data: Record<string, string>; metadata: { managedFields: { manager: string }[] } };
    expect(after.data).toEqual({ mode: "ours" });
    expect(after.metadata.managedFields.map((m) => m.manager)).toEqual(["nk"]);
  });

  it("diffs with a server-side dry run and writes nothing", async () => {
    const files = { "manifests/ns.yaml": NS, "manifests/crd.yaml": CRD, "manifests/widget.yaml": WIDGET.replace("size: 3", "size: 5"), "manifests/extra.yaml": cm("{ a: b }") };
    const entries = await driver.diff(request(files, DEFAULT_MANIFEST_SETTINGS, "r7"));
    expect(entries).toEqual([
      { key: "CustomResourceDefinition.apiextensions.k8s.io widgets.example.com", action: "unchanged", fields: [] },
      { key: "Namespace web", action: "unchanged", fields: [] },
      { key: "ConfigMap web/settings", action: "create", fields: [] },
      { key: "Widget.example.com web/w1", action: "change", fields: [".spec.size"] },
      { key: "ConfigMap web/shared", action: "prune", fields: [] },
    ]);
    expect(fake.requests.filter((r) => r.method !== "GET").every((r) => r.query["dryRun"] === "All")).toBe(true);
    expect(fake.object("", "ConfigMap", "web", "settings")).toBeUndefined();
  });

  it("reports each object's status: in sync and healthy, drifted, or not yet available", async () => {
    const files = { "manifests/ns.yaml": NS, "manifests/crd.yaml": CRD, "manifests/widget.yaml": WIDGET, "manifests/deploy.yaml": DEPLOY };
    await driver.apply(request(files, { ...DEFAULT_MANIFEST_SETTINGS, protectKinds: ["ConfigMap"] }, "r8"));
    const patch = await fetch(`${fake.url}/apis/example.com/v1/namespaces/web/widgets/w1?fieldManager=kubectl-edit`, { method: "PATCH", headers: { "content-type": "application/merge-patch+json" }, body: JSON.stringify({ spec: { size: 9 } }) });
    expect(patch.status).toBe(200);
    fake.objects.pinStatus(fake.objects.resources.byKind("apps", "Deployment")!, "web", "web", { observedGeneration: 1, replicas: 2, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 2 });
    const status = await driver.status(request(files, DEFAULT_MANIFEST_SETTINGS, "r8"));
    expect(status.map((s) => [s.key, s.exists, s.inSync, s.health, s.detail])).toEqual([
      ["CustomResourceDefinition.apiextensions.k8s.io widgets.example.com", true, true, "healthy", "established"],
      ["Namespace web", true, true, "healthy", "active"],
      ["Deployment.apps web/web", true, true, "progressing", "1/2 ready, 2 updated"],
      ["Widget.example.com web/w1", true, false, "healthy", 'exists; HTTP 409: Apply failed with 1 conflict: conflict with "kubectl-edit": .spec.size'],
    ]);
  });

  it("refuses an ApplySet parent another tool manages", async () => {
    const other = await FakeKubeApiserver.start();
    try {
      const res = await fetch(`${other.url}/api/v1/namespaces/kube-system/secrets?fieldManager=kubectl`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "nk-lab", annotations: { "applyset.kubernetes.io/tooling": "kubectl/v1.30" } } }) });
      expect(res.status).toBe(201);
      const report = await new ManifestClient(fakeKubeConfig(other)).apply(request({ "manifests/ns.yaml": NS }));
      expect(report).toEqual({ revision: "r1", ok: false, objects: [], error: "ApplySet parent Secret kube-system/nk-lab is managed by kubectl/v1.30, not nk; nk will not apply or prune through it" });
      expect(other.requests.filter((r) => r.method !== "GET" && r.method !== "POST")).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
