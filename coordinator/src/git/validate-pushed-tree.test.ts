// validatePushedTree: inventory rules, Nix syntax and unreadable files, as the `remote:` lines git shows.
import { describe, expect, it } from "vitest";
import { homelabFiles } from "./test-fixtures.js";
import { nixDiagnostic, validatePushedTree } from "./validate-pushed-tree.js";

describe("validatePushedTree", () => {
  it("accepts the homelab example and says so in one summary line", async () => {
    const result = await validatePushedTree(await homelabFiles(), { knownSecrets: new Set(["k3s-token"]) });
    expect(result.ok).toBe(true);
    expect(result.inventory?.nodes.map((n) => n.name)).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    expect(result.lines).toEqual(["nk: inventory valid: 5 nodes"]);
  });

  it("reports every problem with file:line:col and field, then a summary", async () => {
    const files = await homelabFiles();
    files.set("inventory.yaml", files.get("inventory.yaml")!.replace("n2: { address: 172.30.190.4", "n2: { address: 10.9.9.9"));
    files.set("nodes/n5.nix", "{ config, ... }:\n{\n  networking.hostName = ;\n}\n");
    const result = await validatePushedTree({ revision: "a".repeat(40), files, skipped: [] }, { knownSecrets: new Set(["other"]) });
    expect(result.ok).toBe(false);
    expect(result.inventory).toBeNull();
    expect(result.lines).toEqual([
      'inventory.yaml:16:19 cluster.k3s.token_secret: secret "k3s-token" does not exist in the coordinator (set it with: nkctl secret set k3s-token)',
      "inventory.yaml:32:18 nodes.n2.address: 10.9.9.9 is outside the cluster subnet 172.30.190.0/24",
      "nodes/n5.nix:3:25 invalid Nix: syntax error, unexpected ';'",
      "nk: rejected at aaaaaaaaaaaa: 3 errors (nothing was changed)",
    ]);
  });

  it("turns files that could not be read into errors where nk reads them, warnings elsewhere", async () => {
    const files = await homelabFiles();
    const skipped = [
      { path: "manifests/huge.yaml", reason: "larger than 1048576 bytes (2000000)" },
      { path: "docs/logo.png", reason: "binary file (contains NUL bytes)" },
    ];
    const result = await validatePushedTree({ revision: "b".repeat(40), files, skipped }, {});
    expect(result.ok).toBe(false);
    expect(result.lines).toEqual([
      "docs/logo.png:1:1 warning: not read: binary file (contains NUL bytes)",
      "manifests/huge.yaml:1:1 not read: larger than 1048576 bytes (2000000)",
      "nk: rejected at bbbbbbbbbbbb: 1 error, 1 warning (nothing was changed)",
    ]);
  });

  it("says an inventory.yaml too large to read is that, not missing", async () => {
    const files = await homelabFiles();
    files.delete("inventory.yaml");
    const result = await validatePushedTree({ revision: "c".repeat(40), files, skipped: [{ path: "inventory.yaml", reason: "larger than 1048576 bytes (9999999)" }] });
    expect(result.ok).toBe(false);
    expect(result.lines[0]).toBe("inventory.yaml:1:1 not read: larger than 1048576 bytes (9999999)");
    expect(result.lines.join("\n")).not.toMatch(/missing/);
  });

  it("still guards the inventory when nix-instantiate is missing, with a warning line", async () => {
    const result = await validatePushedTree(await homelabFiles(), { nix: { nixInstantiate: "/nonexistent/nix-instantiate" } });
    expect(result.ok).toBe(true);
    expect(result.lines).toEqual([expect.stringMatching(/^nk: warning: Nix syntax not checked \(.*not found/), "nk: inventory valid: 5 nodes"]);
  });

  it("maps a nix-instantiate message to a diagnostic at its position", () => {
    const d = nixDiagnostic({ path: "common/a.nix", ok: false, error: "error: undefined variable 'foo'\n\n       at common/a.nix:4:12:\n\n            3| {\n" });
    expect(d).toEqual({ file: "common/a.nix", line: 4, col: 12, field: "", message: "invalid Nix: undefined variable 'foo'", severity: "error" });
    expect(nixDiagnostic({ path: "x.nix", ok: false, error: "" })).toMatchObject({ line: 1, col: 1, message: "invalid Nix: cannot be parsed" });
  });
});
