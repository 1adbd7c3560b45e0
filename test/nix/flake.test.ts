// flake.nix evaluated against a stub nixpkgs: package inputs (lock URLs, build, install), modules, apps, dev shell, VM test.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGED_AGENT_NODE_FLAGS } from "../../bench/agent-footprint/footprint-cluster.js";
import { validateRepo } from "../../shared/src/inventory/index.js";
import { nixEval, NIX_DIR, REPO } from "./nix-eval.js";

const FLAKE = `(import ${join(NIX_DIR, "eval-flake.nix")})`;

interface LockEntry {
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly name?: string;
}

describe("flake.nix", () => {
  it("builds nk for both systems with buildNpmPackage from the lock, installing dist/ and the three commands", async () => {
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    const out = await nixEval<Record<string, { name: string; args: Record<string, unknown> }>>(
      `let f = ${FLAKE}; sel = d: { inherit (d) name args; }; p = s: sel f.packages.\${s}.nk; in { x = p "x86_64-linux"; a = p "aarch64-linux"; d = sel f.packages.x86_64-linux.default; }`,
    );
    expect(out.x!.name).toBe(`nk-${pkg.version}`);
    expect(out.a!.name).toBe(`nk-${pkg.version}`);
    expect(out.d).toEqual(out.x);
    const args = out.x!.args;
    expect(args).toMatchObject({ pname: "nk", version: pkg.version, npmBuildScript: "build", npmRebuildFlags: ["--ignore-scripts"], npmConfigHook: "/stub/npm-config-hook", nodejs: "/stub/nodejs-20" });
    const install = args.installPhase as string;
    expect(install).toContain("npm prune --omit=dev");
    expect(install).toContain("cp -r package.json bin dist proto node_modules");
    // The coordinator serves this flake source to nodes as their bundles' default nk input.
    expect(install).toContain('"$dest/source"');
    expect(install).toContain('for name in nk-agent nk-coordinator nkctl; do');
    // The agent's memory flags are the ones bench/agent-footprint measures as "packaged".
    expect(install).toContain(`if [ "$name" = nk-agent ]; then flags="${PACKAGED_AGENT_NODE_FLAGS.join(" ")} "; fi`);
    const src = (await nixEval<string[]>(`${FLAKE}.packages.x86_64-linux.nk.args.src.files`)).map((f) => f.slice(REPO.length + 1));
    expect(src.sort()).toEqual(["agent/src", "bin", "coordinator/src", "nkctl/src", "package-lock.json", "package.json", "proto", "shared/src", "tsconfig.build.json", "tsconfig.json"]);
  });

  it("gives importNpmLock a URL for every locked package, keeping the lock's integrity hashes", async () => {
    const lock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
    const given = await nixEval<{ packages: Record<string, LockEntry> }>(`${FLAKE}.packages.x86_64-linux.nk.args.npmDeps.args.packageLock`);
    const entries = Object.entries(lock.packages).filter(([path]) => path !== "");
    expect(entries.length).toBeGreaterThan(10);
    for (const [path, entry] of entries) {
      const name = entry.name ?? path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
      const base = name.slice(name.lastIndexOf("/") + 1);
      const expected = entry.resolved ?? `https://registry.npmjs.org/${name}/-/${base}-${entry.version}.tgz`;
      expect(given.packages[path], path).toMatchObject({ resolved: expected, integrity: entry.integrity });
    }
    expect(given.packages["node_modules/@types/node"]?.resolved).toMatch(/^https:\/\/registry\.npmjs\.org\/@types\/node\/-\/node-\d+\.\d+\.\d+\.tgz$/);
  });

  it("exports the modules with the overlay, nkctl as the app and a dev shell", async () => {
    const out = await nixEval<Record<string, unknown>>(`let f = ${FLAKE}; in {
      agent = map toString (builtins.filter builtins.isPath f.nixosModules.agent.imports);
      coordinator = map toString (builtins.filter builtins.isPath f.nixosModules.coordinator.imports);
      overlayKeys = map (m: m.key) (builtins.filter builtins.isAttrs f.nixosModules.agent.imports);
      defaultImports = builtins.length f.nixosModules.default.imports;
      overlays = builtins.length (builtins.head (builtins.filter builtins.isAttrs f.nixosModules.agent.imports)).nixpkgs.overlays;
      app = f.apps.aarch64-linux.nkctl;
      defaultApp = f.apps.x86_64-linux.default.program;
      shell = map (p: p.name) f.devShells.x86_64-linux.default.args.packages;
      checks = builtins.attrNames f.checks.x86_64-linux;
    }`);
    expect(out.agent).toEqual([join(REPO, "nixos-module/agent.nix")]);
    expect(out.coordinator).toEqual([join(REPO, "nixos-module/coordinator.nix")]);
    expect(out.overlayKeys).toEqual(["nk#overlay"]);
    expect(out.defaultImports).toBe(2);
    expect(out.overlays).toBe(1);
    expect(out.app).toEqual({ type: "app", program: "/stub/nk-0.1.0/bin/nkctl" });
    expect(out.defaultApp).toBe("/stub/nk-0.1.0/bin/nkctl");
    expect(out.shell).toEqual(expect.arrayContaining(["nodejs-20", "git", "nix", "etcd"]));
    expect(out.checks).toEqual(["nk", "vm"]);
  });

  it("defines a VM test with a coordinator and two agents whose script is valid Python", async () => {
    const test = await nixEval<{ name: string; nodes: Record<string, { services: Record<string, Record<string, unknown>> }>; testScript: string }>(
      `${FLAKE}.checks.x86_64-linux.vm.test`,
    );
    expect(Object.keys(test.nodes).sort()).toEqual(["agent1", "agent2", "coordinator"]);
    expect(test.nodes.coordinator!.services["nk-coordinator"]).toMatchObject({ enable: true, openFirewall: true });
    expect(test.nodes.agent1!.services["nk-agent"]).toEqual({ enable: true, coordinator: "coordinator:7443" });
    expect(test.nodes.agent2!.services["nk-agent"]).toEqual({ enable: true });
    for (const step of ["secret set k3s-token", "push https://ops:", "/enroll", "/etc/nk/token", "agent.local.json", ".connected and .lastReportMs > 0", "guard/confirmed"]) {
      expect(test.testScript).toContain(step);
    }
    const parsed = spawnSync("python3", ["-c", "import ast, sys; ast.parse(sys.stdin.read())"], { input: test.testScript, encoding: "utf8", timeout: 20_000 });
    expect(parsed.stderr).toBe("");
    expect(parsed.status).toBe(0);
  });

  it("pushes a repo the coordinator accepts: the VM test's inventory.yaml and nk.lock pass validation", async () => {
    // The push runs under coordinator.succeed: a repo refused (an nk.lock missing once locks became required) fails the test.
    const etc = await nixEval<Record<string, { text: string }>>(`${FLAKE}.checks.x86_64-linux.vm.test.nodes.coordinator.environment.etc`);
    const files = new Map([
      ["inventory.yaml", etc["nk-test/inventory.yaml"]!.text],
      ["nk.lock", etc["nk-test/nk.lock"]!.text],
    ]);
    const test = await nixEval<{ testScript: string }>(`${FLAKE}.checks.x86_64-linux.vm.test`);
    expect(test.testScript).toContain("git add inventory.yaml nk.lock");
    const result = validateRepo(files, { knownSecrets: new Set(["k3s-token"]) });
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(result.nodeNames).toEqual(["agent1", "agent2"]);
  });
});
