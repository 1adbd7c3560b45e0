import { describe, expect, it } from "vitest";
import { NO_KUBE_WARNING } from "../kube/index.js";
import { CLEAR_SECRETS_WARNING } from "../store/index.js";
import { configWarnings } from "./config-warnings.js";
import { coordinatorConfigSchema } from "./coordinator-config.js";

describe("configWarnings", () => {
  const etcd = { kind: "etcd", endpoints: ["http://127.0.0.1:2379"] };
  const upstream = { kind: "upstream", url: "https://git.example/inv.git" };
  const warnings = (raw: Record<string, unknown>) => configWarnings(coordinatorConfigSchema.parse(raw));

  it("names running without Kubernetes and secrets in clear in etcd, and nothing for a safe config", () => {
    expect(warnings({ kubeconfigFile: "/etc/nk/kubeconfig" })).toEqual([]);
    expect(warnings({ kube: "none" })).toEqual([NO_KUBE_WARNING]);
    expect(warnings({ kubeconfigFile: "/k", store: etcd, source: upstream })).toEqual([CLEAR_SECRETS_WARNING]);
    expect(warnings({ kube: "none", store: etcd, source: upstream })).toEqual([NO_KUBE_WARNING, CLEAR_SECRETS_WARNING]);
    expect(warnings({ kubeconfigFile: "/k", store: { ...etcd, secretsKeyFile: "/etc/nk/secrets.key" }, source: upstream })).toEqual([]);
  });
});
