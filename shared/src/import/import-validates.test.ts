// Each importer's output, once it has an admin key, passes the inventory validator with no errors.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { validateRepo, type Diagnostic } from "../inventory/index.js";
import { renderCluster } from "../render/index.js";
import { importNk3, importPlans, type ImportResult } from "./index.js";

const fixture = (path: string): string => readFileSync(new URL(`../../../test/fixtures/${path}`, import.meta.url), "utf8");
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop";

function validate(result: ImportResult, yaml = result.yaml): readonly Diagnostic[] {
  return validateRepo(new Map([["inventory.yaml", yaml], ...result.extraFiles])).diagnostics;
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
    const diagnostics = validate(plain());
    expect(diagnostics.map((d) => [d.field, d.severity, d.message])).toEqual([["cluster.admin.ssh_keys", "error", "needs at least one public key (there are no passwords)"]]);
  });

  it("has no diagnostics once a key is added by hand where the comment says", () => {
    const result = plain();
    expect(validate(result, addKeyByHand(result.yaml))).toEqual([]);
  });

  it("has no diagnostics with a key given to the importer, and reads back every node", () => {
    const result = withKeys([KEY]);
    const check = validateRepo(new Map([["inventory.yaml", result.yaml], ...result.extraFiles]));
    expect(check.diagnostics).toEqual([]);
    expect(check.inventory?.nodes.filter((n) => n.init).length).toBe(1);
    expect(check.inventory?.cluster.admin.sshKeys).toEqual([KEY]);
  });

  it("renders a bundle for every imported node, the init server with clusterInit, the others joining it, the host without k3s without it", () => {
    const result = withKeys([KEY]);
    const files = new Map([["inventory.yaml", result.yaml], ...result.extraFiles]);
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
