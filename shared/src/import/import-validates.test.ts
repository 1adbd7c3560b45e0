// Each importer's output, once it has an admin key and nkctl pin's lock, passes the inventory validator with no errors.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { validateRepo, type Diagnostic } from "../inventory/index.js";
import { LOCK_FILE } from "../lock/index.js";
import { syntheticLockText } from "../lock/synthetic-lock.js";
import { renderCluster } from "../render/index.js";
import { importNk3, importPlans, type ImportResult } from "./index.js";

const fixture = (path: string): string => readFileSync(new URL(`../../../test/fixtures/${path}`, import.meta.url), "utf8");
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop";

const NK_SOURCE = "http://10.0.0.2:7080/nk/source/nk-0.1.0.tar.gz";

/** The repo after `nkctl pin` (its lock stands in for what Nix resolves), or before it with `pinned` false. */
function repo(result: ImportResult, yaml = result.yaml, pinned = true): Map<string, string> {
  return new Map([["inventory.yaml", yaml], ...(pinned ? [[LOCK_FILE, syntheticLockText(yaml, NK_SOURCE)] as const] : []), ...result.extraFiles]);
}

function validate(result: ImportResult, yaml = result.yaml, pinned = true): readonly Diagnostic[] {
  return validateRepo(repo(result, yaml, pinned)).diagnostics;
}

/** What an operator does after reading the notes: put a key where the comment says. */
function addKeyByHand(yaml: string): string {
  expect(yaml).toContain("    ssh_keys: []\n");
  return yaml.replace("    ssh_keys: []\n", `    ssh_keys:\n      - "${KEY}"\n`);
}

/** Name, import without keys, import with keys, the hosts imported without k3s (role none). */
const imports: [string, () => ImportResult, (keys: string[]) => ImportResult, string[]][] = [
  ["nk3", () => importNk3(fixture("nk3/inventory.yaml")), (sshKeys) => importNk3(fixture("nk3/inventory.yaml"), "inventory.yaml", { sshKeys }), []],
  [
    "plans",
    () => importPlans({ hostsCsv: fixture("plans/hosts.csv"), k3sCsv: fixture("plans/k3s.csv"), networkYaml: fixture("plans/network.yaml"), nixConfigs: new Map([["birch", fixture("plans/nixConfigs/birch.nix")]]) }),
    (sshKeys) => importPlans({ hostsCsv: fixture("plans/hosts.csv"), k3sCsv: fixture("plans/k3s.csv"), networkYaml: fixture("plans/network.yaml"), nixConfigs: new Map([["birch", fixture("plans/nixConfigs/birch.nix")]]) }, { sshKeys }),
    ["larch"],
  ],
];

describe.each(imports)("%s import validates", (_name, plain, withKeys, withoutK3s) => {
  it("fails only on the missing admin key until one is added", () => {
    const diagnostics = validate(plain(), plain().yaml, false);
    expect(diagnostics.map((d) => [d.field, d.severity, d.message])).toEqual([["cluster.admin.ssh_keys", "error", "needs at least one public key (there are no passwords)"]]);
  });

  it("is refused only for its unlocked inputs until nkctl pin has run", () => {
    const result = withKeys([KEY]);
    const diagnostics = validate(result, result.yaml, false);
    expect(diagnostics.map((d) => [d.field, d.message])).toEqual([
      ["cluster.agent", "the nk source is not locked (there is no nk.lock): run nkctl pin (it locks the source the coordinator serves), or set cluster.agent.flake"],
      ["cluster.nixpkgs", expect.stringMatching(/^"github:NixOS\/nixpkgs\/nixos-\d\d\.\d\d" is not locked \(there is no nk\.lock\): run nkctl pin$/)],
    ]);
  });

  it("has no diagnostics once a key is added by hand where the comment says", () => {
    const result = plain();
    expect(validate(result, addKeyByHand(result.yaml))).toEqual([]);
  });

  it("has no diagnostics with a key given to the importer, and reads back every node", () => {
    const result = withKeys([KEY]);
    const check = validateRepo(repo(result));
    expect(check.diagnostics).toEqual([]);
    expect(check.inventory?.nodes.filter((n) => n.init).length).toBe(1);
    expect(check.inventory?.cluster.admin.sshKeys).toEqual([KEY]);
  });

  it("renders a bundle for every imported node, the init server with clusterInit, the others joining it, the host without k3s without it", () => {
    const result = withKeys([KEY]);
    const files = repo(result);
    const inventory = validateRepo(files).inventory!;
    const bundles = renderCluster(inventory, files);
    expect([...bundles.keys()]).toEqual(inventory.nodes.map((n) => n.name));
    expect(inventory.nodes.filter((n) => n.role === "none").map((n) => n.name)).toEqual(withoutK3s);
    for (const node of inventory.nodes) {
      const k3sFile = bundles.get(node.name)!.files.find((f) => f.path === "nk/k3s.nix");
      if (node.role === "none") {
        expect(k3sFile).toBeUndefined();
        continue;
      }
      const k3s = k3sFile!.content;
      if (node.init) expect(k3s).toContain("clusterInit = true;");
      else expect(k3s).toContain(`serverAddr = "https://${inventory.cluster.k3s.apiAddress}:6443";`);
    }
  });
});
