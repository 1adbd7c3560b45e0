import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../inventory/format-diagnostic.js";
import { DEFAULT_MANIFEST_SETTINGS } from "../inventory/parse-manifest-settings.js";
import { refKey } from "./manifest-object.js";
import { readManifests } from "./read-manifests.js";
import { WIDGET_CRD as CRD } from "./test-manifests.js";


function read(files: Record<string, string>, settings = DEFAULT_MANIFEST_SETTINGS) {
  const result = readManifests(new Map(Object.entries(files)), settings);
  return { keys: result.objects.map(refKey), problems: result.diagnostics.map(formatDiagnostic), objects: result.objects };
}

describe("readManifests", () => {
  it("reads multi-document YAML, JSON, Lists and sub-folders, filling in the default namespace", () => {
    const r = read({
      "manifests/apps/web.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: { name: web }\n---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web, namespace: web }\n",
      "manifests/cm.json": JSON.stringify({ apiVersion: "v1", kind: "List", items: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" } }] }),
      "manifests/crd.yml": `${CRD}---\napiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w1 }\n`,
    });
    expect(r.problems).toEqual([]);
    expect(r.keys).toEqual(["Namespace web", "Deployment.apps web/web", "ConfigMap default/settings", "CustomResourceDefinition.apiextensions.k8s.io widgets.example.com", "Widget.example.com default/w1"]);
    expect(r.objects[1]).toMatchObject({ file: "manifests/apps/web.yaml", line: 6 });
    expect((r.objects[2]!.body["metadata"] as { namespace: string }).namespace).toBe("default");
  });

  it("leaves the scope of a kind it cannot know to the server", () => {
    const r = read({ "manifests/cert.yaml": "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: { name: site }\n" });
    expect(r.problems).toEqual([]);
    expect(r.objects[0]).toMatchObject({ group: "cert-manager.io", kind: "Certificate", namespace: null });
  });

  it("reports every problem at once with file:line:col", () => {
    const r = read({
      "manifests/a.yaml": [
        "kind: ConfigMap", // 1: no apiVersion
        "metadata: { name: a }",
        "---",
        "apiVersion: v1", // 4: no kind, no name
        "metadata: { labels: { x: y } }",
        "---",
        "apiVersion: v1", // 7
        "kind: Namespace",
        "metadata: { name: web, namespace: default }",
        "---",
        "apiVersion: apps/v1", // 11
        "kind: Deploymnet",
        "metadata: { name: web }",
        "---",
        "apiVersion: v1", // 15
        "kind: ConfigMap",
        "metadata: { name: dup, labels: { applyset.kubernetes.io/part-of: x } }",
        "---",
        "- just a list",
      ].join("\n"),
      "manifests/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n  namespace: default\n",
      "manifests/c.yaml": "a: [1,\n",
      "manifests/notes.txt": "hello",
      "manifests/d.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { generateName: x- }\n",
    });
    expect(r.problems).toEqual([
      "manifests/a.yaml:1:1 apiVersion: is required (e.g. v1, apps/v1)",
      "manifests/a.yaml:4:1 kind: is required (e.g. ConfigMap)",
      "manifests/a.yaml:5:11 metadata.name: is required",
      "manifests/a.yaml:9:35 metadata.namespace: Namespace is cluster-scoped: remove the namespace",
      "manifests/a.yaml:12:7 kind: apps/v1 has no kind Deploymnet (a typo, or a custom resource whose CustomResourceDefinition uses another group?)",
      "manifests/a.yaml:17:66 metadata.labels.applyset.kubernetes.io/part-of: is set by nk (it marks what nk applied and may prune); remove it",
      "manifests/a.yaml:19:1 expected a Kubernetes object (a mapping with apiVersion, kind and metadata)",
      "manifests/b.yaml:9:9 ConfigMap default/one is already defined at manifests/b.yaml:1; each object may appear once",
      "manifests/c.yaml:2:1 YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
      "manifests/d.yaml:3:11 metadata.name: is required (nk applies objects by name; generateName is not supported)",
      "manifests/notes.txt:1:1 manifests/ holds only *.yaml, *.yml and *.json files (names of letters, digits, '.', '_' and '-')",
    ]);
  });

  it("refuses an object larger than the API accepts", () => {
    const r = read({ "manifests/big.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: big }\ndata: { blob: "${"x".repeat(1024 * 1024)}" }\n` });
    expect(r.problems).toEqual([expect.stringMatching(/^manifests\/big\.yaml:1:1 object is 10\d{5} bytes as JSON; the API accepts at most 1048576$/)]);
  });

  it("checks bootstrap files for syntax only and that they exist", () => {
    const settings = { ...DEFAULT_MANIFEST_SETTINGS, bootstrap: ["cni.yaml", "gone.yaml"] };
    const r = read({ "manifests/cni.yaml": "not: [a kubernetes object]\n" }, settings);
    expect(r.keys).toEqual([]);
    expect(r.problems).toEqual(["inventory.yaml:1:1 manifests.bootstrap[1]: manifests/gone.yaml does not exist (bootstrap names files directly in manifests/)"]);
  });
});
