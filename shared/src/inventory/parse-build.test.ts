// cluster.build: local by default; builders mode with its cache, builder systems and per-node fallback, precise errors.
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "./format-diagnostic.js";
import { buildFallbackOf } from "./parse-build.js";
import { validateInventoryText } from "./validate-repo.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyExampleKeyExampleKeyExampleKey00 ops@laptop";
const PUB = `cache-1:${Buffer.alloc(32, 7).toString("base64")}`;
const SECRET = `cache-1:${Buffer.alloc(64, 7).toString("base64")}`;

/** Line 7 is the build line; nodes follow on lines 9..11. */
function inventory(build: string, pi = "{ address: 10.0.0.21, role: agent, system: aarch64-linux, boot: { loader: extlinux } }"): string {
  return `cluster:
  name: lab
  nixpkgs: { channel: nixos-24.11 }
  network: { gateway: 10.0.0.1, prefix_length: 24, interface: enp1s0 }
  admin: { user: ops, ssh_keys: ["${KEY}"] }
  k3s: { token_secret: k3s-token }
${build}
nodes:
  n1: { address: 10.0.0.11, role: server, init: true, boot_device: /dev/sda }
  n2: { address: 10.0.0.12, role: agent, boot_device: /dev/sda }
  pi: ${pi}
`;
}

const problems = (text: string): string[] => validateInventoryText(text).diagnostics.map(formatDiagnostic);

describe("cluster.build", () => {
  it("defaults to local: every node builds its own system", () => {
    const inv = validateInventoryText(inventory("")).inventory!;
    expect(inv.cluster.build).toEqual({ mode: "local" });
    expect(buildFallbackOf(inv.cluster.build, inv.nodes[0]!)).toBe("local");
  });

  it("reads builders mode: node builders take their node's system, hosts outside the cluster name theirs", () => {
    const text = inventory(`  build: { mode: builders, builders: [n1, { name: arm-builder, systems: [aarch64-linux] }], cache: { url: "file:///srv/nix-cache", public_key: "${PUB}" }, fallback: none }`,
      "{ address: 10.0.0.21, role: agent, system: aarch64-linux, boot: { loader: extlinux }, build_fallback: local }");
    const inv = validateInventoryText(text).inventory!;
    expect(inv.cluster.build).toEqual({
      mode: "builders",
      builders: [{ name: "n1", systems: ["x86_64-linux"] }, { name: "arm-builder", systems: ["aarch64-linux"] }],
      cache: { url: "file:///srv/nix-cache", publicKey: PUB },
      fallback: "none",
    });
    const byName = new Map(inv.nodes.map((n) => [n.name, n]));
    expect(buildFallbackOf(inv.cluster.build, byName.get("n2")!)).toBe("none");
    expect(buildFallbackOf(inv.cluster.build, byName.get("pi")!)).toBe("local");
  });

  it("accepts s3 and https caches", () => {
    for (const url of ["s3://nix-cache?region=eu-west-1", "https://attic.example.org/lab", "http://10.0.0.5:5000"]) {
      expect(problems(inventory(`  build: { mode: builders, builders: [n1, { name: b2, systems: [aarch64-linux] }], cache: { url: "${url}", public_key: "${PUB}" } }`))).toEqual([]);
    }
  });

  it("requires builders and a cache in builders mode", () => {
    expect(problems(inventory("  build: { mode: builders }"))).toEqual([
      "inventory.yaml:7:10 cluster.build.builders: is required with mode: builders (a list of node names or { name, systems })",
      "inventory.yaml:7:10 cluster.build.cache: is required with mode: builders ({ url: <Nix store URL>, public_key: <name:base64> })",
    ]);
    expect(problems(inventory(`  build: { mode: builders, builders: [], cache: { public_key: "${PUB}" } }`))).toEqual([
      "inventory.yaml:7:38 cluster.build.builders: needs at least one builder",
      "inventory.yaml:7:49 cluster.build.cache.url: is required (a Nix store URL: file:///srv/nix-cache, s3://bucket or https://cache.example)",
    ]);
  });

  it("refuses a bad cache URL, a malformed key and, above all, a secret key in the repo", () => {
    const bad = (url: string, key: string): string[] => problems(inventory(`  build: { mode: builders, builders: [n1, { name: b2, systems: [aarch64-linux] }], cache: { url: "${url}", public_key: "${key}" } }`));
    expect(bad("ssh://builder", PUB)).toEqual([
      'inventory.yaml:7:98 cluster.build.cache.url: "ssh://builder" is not a Nix store URL nk supports (file:///absolute/dir, s3://bucket[/prefix][?region=...], http(s)://host[/path])',
    ]);
    expect(bad("file://relative/dir", "cache-1")).toEqual([
      'inventory.yaml:7:98 cluster.build.cache.url: "file://relative/dir" is not a Nix store URL nk supports (file:///absolute/dir, s3://bucket[/prefix][?region=...], http(s)://host[/path])',
      'inventory.yaml:7:133 cluster.build.cache.public_key: "cache-1" is not a Nix public key (expected name:base64 of 32 bytes, e.g. from: nix key generate-secret --key-name builder-1 > builder.sk; nix key convert-secret-to-public < builder.sk)',
    ]);
    expect(bad("file:///srv/c", SECRET)).toEqual([
      "inventory.yaml:7:127 cluster.build.cache.public_key: is a secret signing key (64 bytes): it must never be in the repo; put its public half here (nix key convert-secret-to-public) and keep the secret key file on the builders only",
    ]);
  });

  it("names builders that are listed twice, unknown hosts without systems, bad systems and uncovered nodes", () => {
    const text = inventory(`  build: { mode: builders, builders: [n1, n1, ghost, { name: b2, systems: [riscv64-linux] }], cache: { url: "file:///c", public_key: "${PUB}" } }`);
    expect(problems(text)).toEqual([
      'inventory.yaml:7:38 warning: cluster.build.builders: no builder builds aarch64-linux, the system of pi: they fall back to building their own; add a builder with systems: [aarch64-linux]',
      'inventory.yaml:7:43 cluster.build.builders[1]: builder "n1" is listed twice',
      'inventory.yaml:7:47 cluster.build.builders[2]: "ghost" is not a node of this inventory: a builder host outside the cluster needs its systems, e.g. { name: ghost, systems: [x86_64-linux] }',
      'inventory.yaml:7:75 cluster.build.builders[3].systems[0]: expected one of x86_64-linux, aarch64-linux, got "riscv64-linux"',
    ]);
  });

  it("makes an uncovered system an error when its nodes may not fall back", () => {
    const text = inventory(`  build: { mode: builders, builders: [n1], cache: { url: "file:///c", public_key: "${PUB}" }, fallback: none }`);
    expect(problems(text)).toEqual([
      "inventory.yaml:7:38 cluster.build.builders: no builder builds aarch64-linux, the system of pi: pi cannot get a system (build_fallback: none); add a builder with systems: [aarch64-linux]",
    ]);
  });

  it("warns about builders settings that local mode ignores, and checks build_fallback's value", () => {
    expect(problems(inventory(`  build: { mode: local, cache: { url: "file:///c", public_key: "${PUB}" } }`, "{ address: 10.0.0.21, role: agent, boot_device: /dev/sda, build_fallback: none }"))).toEqual([
      "inventory.yaml:7:32 warning: cluster.build.cache: only applies with mode: builders (ignored in local mode, where every node builds its own system)",
      "inventory.yaml:11:81 warning: nodes.pi.build_fallback: only applies with cluster.build.mode: builders (every node builds its own system in local mode)",
    ]);
    expect(problems(inventory("", "{ address: 10.0.0.21, role: agent, boot_device: /dev/sda, build_fallback: never }"))).toEqual([
      'inventory.yaml:11:81 nodes.pi.build_fallback: expected one of local, none, got "never"',
    ]);
  });
});
