// Property tests of the importers: any input gives either an inventory that validates or INVENTORY_INVALID with problems inside the input, never another exception.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzParams, fuzzTimeout } from "../../../test/support/fuzz-runs.js";
import { isNkError } from "../errors/index.js";
import { validateRepo } from "../inventory/index.js";
import { importNk3, importPlans, type ImportResult } from "./index.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop";

/**
 * The importer's contract: a result whose inventory validates with no error, or INVENTORY_INVALID whose
 * `file:line` problems point inside the input files. Anything else thrown fails the property.
 */
function expectImportContract(run: () => ImportResult, inputs: ReadonlyMap<string, string>): void {
  let result: ImportResult;
  try {
    result = run();
  } catch (err) {
    expect(isNkError(err, "INVENTORY_INVALID"), String(err)).toBe(true);
    for (const line of (err as Error).message.split("\n")) {
      const m = /^([^:\s]+):(\d+) /.exec(line);
      expect(m, `problem without file:line: ${line}`).not.toBeNull();
      const text = inputs.get(m![1]!);
      expect(text, `problem in a file that is not an input: ${line}`).toBeDefined();
      expect(Number(m![2])).toBeGreaterThanOrEqual(1);
      expect(Number(m![2]), line).toBeLessThanOrEqual(text!.split("\n").length);
    }
    return;
  }
  // An import writes no nk.lock (docs/inventory.md: run `nkctl pin` in the imported folder before the first push), so
  // "not locked (there is no nk.lock)" is the one error an imported inventory may have.
  const errors = validateRepo(new Map([["inventory.yaml", result.yaml], ...result.extraFiles])).diagnostics.filter((d) => d.severity === "error" && !d.message.includes("(there is no nk.lock)"));
  expect(errors, result.yaml).toEqual([]);
}

const ip = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((n) => `192.168.77.${n}`),
  fc.constantFrom("192.168.78.4", "10.0.0.5", "300.1.1.1", "192.168.77", "not-an-ip", "", "::1"),
);
const scalar = fc.oneof(fc.constantFrom("yes", "no", "true", "false", "1", "null", "~", "[]", "{}", "'x'", "-"), fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 4 });

const nk3Node = fc.record({ ip, initiator: opt(fc.oneof(fc.constantFrom("true", "false", "yes", "no"), scalar)), boot: opt(fc.oneof(fc.constantFrom("/dev/sda", "/dev/nvme0n1", "sda"), scalar)), extra: opt(scalar) });
const nk3Inventory = fc.record({
  join: opt(ip),
  token: opt(fc.oneof(fc.uuid(), scalar)),
  gateway: opt(ip),
  channel: opt(fc.oneof(fc.constantFrom("https://nixos.org/channels/nixos-24.05", "nixos-24.11", "https://example.invalid/x"), scalar)),
  nodes: fc.array(nk3Node, { maxLength: 6 }),
  unknown: opt(scalar),
});

function nk3Yaml(inv: typeof nk3Inventory extends fc.Arbitrary<infer T> ? T : never): string {
  const out = ["cluster:"];
  if (inv.join !== undefined) out.push(`  join_address: ${inv.join}`);
  if (inv.token !== undefined) out.push(`  join_token: ${inv.token}`);
  if (inv.gateway !== undefined) out.push(`  default_gateway: ${inv.gateway}`);
  if (inv.channel !== undefined) out.push(`  nix_channel: ${inv.channel}`);
  if (inv.unknown !== undefined) out.push(`  colour: ${inv.unknown}`);
  out.push("  nodes:");
  for (const n of inv.nodes) {
    out.push(`    ${n.ip === "" ? '""' : n.ip}:`);
    if (n.initiator !== undefined) out.push(`      initiator: ${n.initiator}`);
    if (n.boot !== undefined) out.push(`      boot_device: ${n.boot}`);
    if (n.extra !== undefined) out.push(`      flavour: ${n.extra}`);
  }
  return `${out.join("\n")}\n`;
}

const name = fc.oneof(fc.constantFrom("birch", "Cedar", " elm ", "fir", "x_y", "", "a".repeat(70)), fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/));
const csvCell = fc.oneof(name, fc.constantFrom("enp3s0", "eth0", "", "hilde", "ops"), scalar);
const hostRow = fc.tuple(name, fc.oneof(fc.constantFrom("enp3s0", "eno1", ""), csvCell), ip, fc.oneof(fc.constantFrom("hilde", "ops"), csvCell));
const k3sRow = fc.tuple(name, name, fc.oneof(fc.constantFrom("init_server", "Init-Server", "server", "SERVER", "agent", "master"), csvCell), ip);
const csv = (header: string, rows: readonly (readonly string[])[]) => `${[header, ...rows.map((r) => r.join(","))].join("\n")}\n`;
const networkYaml = fc.record({ gateway: opt(ip), netmask: opt(fc.constantFrom("255.255.255.0", "255.255.0.0", "255.0.255.0", "x")), dns: opt(fc.array(ip, { maxLength: 3 })) }).map(
  (n) => [n.gateway === undefined ? "" : `gateway: ${n.gateway}`, n.netmask === undefined ? "" : `netmask: ${n.netmask}`, n.dns === undefined ? "" : `nameservers: [${n.dns.join(", ")}]`].filter((l) => l !== "").join("\n") + "\n",
);

describe("importer properties", () => {
  it("nk3: arbitrary text and generated nk3 inventories give a validating inventory or INVENTORY_INVALID inside the input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), nk3Inventory.map(nk3Yaml)), (text) => {
        expectImportContract(() => importNk3(text, "inventory.yaml", { sshKeys: [KEY] }), new Map([["inventory.yaml", text]]));
      }),
      fuzzParams(100),
    );
  }, fuzzTimeout(100, 40));

  it("plans: arbitrary and generated csv/yaml give a validating inventory or INVENTORY_INVALID inside the input", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ hostsCsv: fc.string({ maxLength: 120 }), k3sCsv: fc.string({ maxLength: 120 }), networkYaml: fc.string({ maxLength: 80 }) }),
          fc.record({
            hostsCsv: fc.array(hostRow, { maxLength: 5 }).map((rows) => csv("name,interface,ip,admin", rows)),
            k3sCsv: fc.array(k3sRow, { maxLength: 6 }).map((rows) => csv("host,name,type,ip", rows)),
            networkYaml,
          }),
        ),
        (input) => {
          expectImportContract(() => importPlans(input, { sshKeys: [KEY] }), new Map([["hosts.csv", input.hostsCsv], ["k3s.csv", input.k3sCsv], ["network.yaml", input.networkYaml]]));
        },
      ),
      fuzzParams(100),
    );
  }, fuzzTimeout(100, 40));
});
