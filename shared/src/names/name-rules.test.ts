// The name rules: one answer for every part (stores, admin API, agent, inventory, nkctl).
import { describe, expect, it } from "vitest";
import { assertNodeName, assertSecretName, DNS_LABEL_PATTERN, isNodeName, isSecretName } from "./name-rules.js";

describe("name rules", () => {
  it("node names are DNS labels", () => {
    expect(["n1", "node-1", "a", "x".repeat(63), "0web"].every(isNodeName)).toBe(true);
    expect(["", "N1", "-n", "n-", "n_1", "n.lan", "x".repeat(64), "bad/name"].some(isNodeName)).toBe(false);
    // The JSON-schema pattern of the HTTP API is the same rule.
    expect(new RegExp(DNS_LABEL_PATTERN).test("node-1")).toBe(true);
    expect(() => assertNodeName("Bad")).toThrow(/invalid node name "Bad": a DNS label/);
  });

  it("secret names are lower-case file names of at most 63 characters, the same in the file store, etcd, the admin API and the agent", () => {
    expect(["k3s-token", "a", "tls.key", "wifi_psk", "0", "x".repeat(63)].every(isSecretName)).toBe(true);
    // Upper case and 64-128 characters were accepted by the file store alone; the agent could not have written them.
    expect(["K3S-TOKEN", "x".repeat(64), "x".repeat(128), "", ".hidden", "-x", "_x", "a/b", "../x", "a..b", "a b"].some(isSecretName)).toBe(false);
    expect(() => assertSecretName("K3S")).toThrow(/invalid secret name "K3S": lower-case letters/);
  });
});
