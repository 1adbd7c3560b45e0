import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isCustomKind, orderForApply, planPrune, type LiveMember } from "./apply-order.js";
import { applySetId, parentObject, parentRef, scopeFromAnnotations, scopeOf, unionScope, withPartOf, APPLYSET_ID, APPLYSET_PART_OF } from "./applyset.js";
import { refKey, type ObjectRef } from "./manifest-object.js";

const ref = (group: string, kind: string, namespace: string | null, name: string): ObjectRef => ({ group, kind, namespace, name });
const live = (r: ObjectRef, uid = `uid-${r.name}`): LiveMember => ({ ...r, uid });

const NS = ref("", "Namespace", null, "web");
const CRD = ref("apiextensions.k8s.io", "CustomResourceDefinition", null, "widgets.example.com");
const WIDGET = ref("example.com", "Widget", "web", "w1");
const DEPLOY = ref("apps", "Deployment", "web", "web");
const CM = ref("", "ConfigMap", "web", "settings");
const SA = ref("", "ServiceAccount", "web", "web");
const ROLE = ref("rbac.authorization.k8s.io", "ClusterRole", null, "reader");

describe("orderForApply", () => {
  it("puts CRDs and Namespaces first, configuration before workloads, custom resources last", () => {
    expect(orderForApply([WIDGET, DEPLOY, CM, ROLE, SA, NS, CRD]).map(refKey)).toEqual([
      "CustomResourceDefinition.apiextensions.k8s.io widgets.example.com",
      "Namespace web",
      "ServiceAccount web/web",
      "ConfigMap web/settings",
      "ClusterRole.rbac.authorization.k8s.io reader",
      "Deployment.apps web/web",
      "Widget.example.com web/w1",
    ]);
    expect(isCustomKind(WIDGET)).toBe(true);
    expect(isCustomKind(DEPLOY)).toBe(false);
  });

  it("is one order whatever the input order", () => {
    const all = [WIDGET, DEPLOY, CM, ROLE, SA, NS, CRD, ref("", "Secret", "web", "a"), ref("", "Secret", "web", "b")];
    const expected = orderForApply(all).map(refKey);
    fc.assert(fc.property(fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }), (shuffled) => {
      expect(orderForApply(shuffled).map(refKey)).toEqual(expected);
    }));
  });
});

describe("planPrune", () => {
  const none = { protectNamespaces: [], protectKinds: [] };

  it("deletes members git no longer names, in reverse apply order", () => {
    const plan = planPrune([CM], [NS, CRD, WIDGET, DEPLOY, CM].map((r) => live(r)), none);
    expect(plan.delete.map(refKey)).toEqual(["Widget.example.com web/w1", "Deployment.apps web/web", "Namespace web", "CustomResourceDefinition.apiextensions.k8s.io widgets.example.com"]);
    expect(plan.kept).toEqual([]);
  });

  it("keeps protected namespaces, their objects and protected kinds", () => {
    const pvc = ref("", "PersistentVolumeClaim", "db", "data");
    const cert = ref("cert-manager.io", "Certificate", "web", "site");
    const sys = ref("", "ConfigMap", "kube-system", "x");
    const members = [pvc, cert, sys, ref("", "Namespace", null, "kube-system"), DEPLOY].map((r) => live(r));
    const plan = planPrune([], members, { protectNamespaces: ["kube-system"], protectKinds: ["PersistentVolumeClaim", "Certificate.cert-manager.io"] });
    expect(plan.delete.map(refKey)).toEqual(["Deployment.apps web/web"]);
    expect(plan.kept.map(refKey).sort()).toEqual(["Certificate.cert-manager.io web/site", "ConfigMap kube-system/x", "Namespace kube-system", "PersistentVolumeClaim db/data"]);
  });

  it("never deletes what git still names, and nothing it was not given", () => {
    const arb = fc.record({ kind: fc.constantFrom("ConfigMap", "Secret", "Service"), ns: fc.constantFrom("a", "b"), name: fc.constantFrom("x", "y", "z") });
    fc.assert(fc.property(fc.array(arb), fc.array(arb), (desiredRaw, liveRaw) => {
      const desired = desiredRaw.map((d) => ref("", d.kind, d.ns, d.name));
      const members = liveRaw.map((d) => live(ref("", d.kind, d.ns, d.name)));
      const plan = planPrune(desired, members, none);
      const wanted = new Set(desired.map(refKey));
      for (const m of plan.delete) {
        expect(wanted.has(refKey(m))).toBe(false);
        expect(members).toContainEqual(m);
      }
      expect(plan.delete.length).toBe(members.filter((m) => !wanted.has(refKey(m))).length);
    }));
  });
});

describe("the ApplySet convention", () => {
  it("computes the id as kubectl does: base64url(sha256(name.namespace.kind.group)) without padding, in applyset-…-v1", () => {
    const digest = createHash("sha256").update("nk-lab.kube-system.Secret.").digest("base64");
    const urlSafe = digest.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect(applySetId(parentRef("lab"))).toBe(`applyset-${urlSafe}-v1`);
    expect(applySetId(parentRef("lab"))).toMatch(/^applyset-[A-Za-z0-9_-]{43}-v1$/);
    expect(applySetId(parentRef("lab2"))).not.toBe(applySetId(parentRef("lab")));
  });

  it("labels the parent and members, and records the set's kinds and namespaces sorted", () => {
    const scope = scopeOf([DEPLOY, CM, NS, ref("", "ConfigMap", "kube-system", "a"), ref("", "ConfigMap", "apps", "b")]);
    expect(scope).toEqual({ groupKinds: ["ConfigMap", "Deployment.apps", "Namespace"], namespaces: ["apps", "web"] });
    const parent = parentObject("lab", scope) as { metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> } };
    expect(parent.metadata).toMatchObject({ name: "nk-lab", namespace: "kube-system", labels: { [APPLYSET_ID]: applySetId(parentRef("lab")) } });
    expect(parent.metadata.annotations).toEqual({
      "applyset.kubernetes.io/tooling": "nk/v0.1.0",
      "applyset.kubernetes.io/contains-group-kinds": "ConfigMap,Deployment.apps,Namespace",
      "applyset.kubernetes.io/additional-namespaces": "apps,web",
    });
    expect(scopeFromAnnotations(parent.metadata.annotations)).toEqual(scope);
    expect(unionScope(scope, { groupKinds: ["Widget.example.com"], namespaces: ["z"] })).toEqual({ groupKinds: ["ConfigMap", "Deployment.apps", "Namespace", "Widget.example.com"], namespaces: ["apps", "web", "z"] });
    const member = withPartOf({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", labels: { app: "x" } } }, "id1");
    expect(member).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", labels: { app: "x", [APPLYSET_PART_OF]: "id1" } } });
  });
});
