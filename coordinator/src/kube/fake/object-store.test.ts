// The fake apiserver's server-side apply and API semantics, checked directly against what the real API does.
import { describe, expect, it } from "vitest";
import { parseLabelSelector } from "./label-selector.js";
import { ObjectStore } from "./object-store.js";

const cm = (data: Record<string, string>) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data });

describe("ObjectStore (server-side apply)", () => {
  it("keeps a field another manager still owns when an applier drops it, and removes fields only it owned", () => {
    const store = new ObjectStore();
    const type = store.resources.byKind("", "ConfigMap")!;
    expect(store.apply(type, "default", "c", cm({ a: "1", b: "2" }), { manager: "nk", dryRun: false })[0]).toBe(201);
    expect(store.apply(type, "default", "c", cm({ b: "2" }), { manager: "helm", dryRun: false })[0]).toBe(200);
    const [, after] = store.apply(type, "default", "c", cm({}), { manager: "nk", dryRun: false });
    expect(after["data"]).toEqual({ b: "2" });
  });

  it("does not bump resourceVersion for an apply that changes nothing, nor store a dry run", () => {
    const store = new ObjectStore();
    const type = store.resources.byKind("", "ConfigMap")!;
    const [, first] = store.apply(type, "default", "c", cm({ a: "1" }), { manager: "nk", dryRun: false });
    const [, again] = store.apply(type, "default", "c", cm({ a: "1" }), { manager: "nk", dryRun: false });
    expect((again["metadata"] as { resourceVersion: string }).resourceVersion).toBe((first["metadata"] as { resourceVersion: string }).resourceVersion);
    const [, dry] = store.apply(type, "default", "c", cm({ a: "2" }), { manager: "nk", dryRun: true });
    expect(dry["data"]).toEqual({ a: "2" });
    expect(store.get(type, "default", "c")?.["data"]).toEqual({ a: "1" });
  });

  it("refuses objects in a namespace that does not exist, and deleting a namespace deletes its objects", () => {
    const store = new ObjectStore();
    const type = store.resources.byKind("", "ConfigMap")!;
    const ns = store.resources.byKind("", "Namespace")!;
    expect(store.apply(type, "web", "c", cm({}), { manager: "nk", dryRun: false })).toEqual([404, expect.objectContaining({ reason: "NotFound", message: 'namespaces "web" not found' })]);
    store.apply(ns, null, "web", { apiVersion: "v1", kind: "Namespace", metadata: { name: "web" } }, { manager: "nk", dryRun: false });
    expect(store.apply(type, "web", "c", cm({}), { manager: "nk", dryRun: false })[0]).toBe(201);
    store.delete(ns, null, "web", false);
    expect(store.get(type, "web", "c")).toBeUndefined();
  });

  it("serves a custom kind only once its CRD is Established, and forgets it with the CRD", () => {
    const store = new ObjectStore(1);
    const crdType = store.resources.byKind("apiextensions.k8s.io", "CustomResourceDefinition")!;
    const crd = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "widgets.example.com" }, spec: { group: "example.com", scope: "Cluster", names: { plural: "widgets", kind: "Widget" }, versions: [{ name: "v1", served: true }] } };
    store.apply(crdType, null, "widgets.example.com", crd, { manager: "nk", dryRun: false });
    expect(store.resources.byPlural("example.com", "v1", "widgets")).toBeUndefined();
    expect(store.resources.discovery(["apis", "example.com", "v1"])).toBeNull();
    store.get(crdType, null, "widgets.example.com");
    const established = store.get(crdType, null, "widgets.example.com") as { status: { conditions: { type: string; status: string }[] } };
    expect(established.status.conditions.find((c) => c.type === "Established")?.status).toBe("True");
    expect(store.resources.discovery(["apis", "example.com", "v1"])).toMatchObject({ resources: [{ name: "widgets", kind: "Widget", namespaced: false }] });
    store.delete(crdType, null, "widgets.example.com", false);
    expect(store.resources.byPlural("example.com", "v1", "widgets")).toBeUndefined();
  });
});

describe("parseLabelSelector", () => {
  it("matches equality, inequality, existence and set expressions", () => {
    const labels = { app: "web", tier: "front" };
    expect(parseLabelSelector("app=web,tier==front")(labels)).toBe(true);
    expect(parseLabelSelector("app!=web")(labels)).toBe(false);
    expect(parseLabelSelector("app,!gone")(labels)).toBe(true);
    expect(parseLabelSelector("tier in (front, back),app notin (db)")(labels)).toBe(true);
    expect(parseLabelSelector("")(undefined)).toBe(true);
    expect(() => parseLabelSelector("a b c")).toThrow(/unable to parse/);
  });
});
