import { describe, expect, it } from "vitest";
import { checkConfig } from "../../../shared/src/config/index.js";
import { coordinatorConfigSchema } from "./coordinator-config.js";

describe("coordinator config: Kubernetes access is explicit", () => {
  const load = (raw: Record<string, unknown>) => checkConfig(coordinatorConfigSchema, raw, "coordinator.yaml");

  it("refuses a config with neither a kubeconfig nor kube: none, saying what to set", () => {
    expect(() => load({})).toThrow(
      "coordinator.yaml is invalid:\n  kube: set exactly one of kubeconfigFile (drains, cordons and node readiness through Kubernetes) or kube: none (nodes are then rebooted without a drain or a Ready check)",
    );
  });

  it("refuses both at once", () => {
    expect(() => load({ kubeconfigFile: "/etc/nk/kubeconfig", kube: "none" })).toThrow(/kube: set exactly one of kubeconfigFile/);
  });

  it("accepts either one alone", () => {
    expect(load({ kubeconfigFile: "/etc/nk/kubeconfig" })).toMatchObject({ kubeconfigFile: "/etc/nk/kubeconfig" });
    expect(load({ kube: "none" }).kube).toBe("none");
    expect(() => load({ kube: "some" })).toThrow(/kube: /);
  });
});
