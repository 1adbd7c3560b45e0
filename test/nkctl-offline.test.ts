// nkctl's commands that need no coordinator: their output and exit codes in-process (runCli, what bin/nkctl.js runs),
// and the real binary as a child process wherever the process itself is under test: exit status, stdin, the PATH
// lookup of nix-instantiate, commander's usage errors, an unreachable coordinator. Each spawn costs a Node start and
// module load (about a second of CPU); this file spawned one for each of its 33 commands.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { makeBundle } from "../shared/src/render/index.js";
import { pinSynthetic } from "./support/pin-synthetic.js";
import { cliEnv } from "./support/cli-env.js";
import { runNkctlInProcess } from "./support/nkctl-in-process.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const HOMELAB = join(ROOT, "examples/homelab");
const FIXTURES = join(ROOT, "test/fixtures");
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop";
const HAS_NIX = spawnSync("nix-instantiate", ["--version"]).status === 0;

const scratch = mkdtempSync(join(tmpdir(), "nkctl-offline-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const tempDir = (name: string): string => join(scratch, `${name}-${++counter}`);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs nkctl in this process from the repo root, with no user config and no NK_* variables. */
function nkctl(args: readonly string[], options: { env?: Record<string, string> } = {}): Promise<Run> {
  return runNkctlInProcess(args, { flags: [], env: cliEnv(scratch, { XDG_CONFIG_HOME: join(scratch, "no-config"), ...options.env }) });
}

/** Runs `node bin/nkctl.js ...` from the repo root with no user config and no NK_* variables. */
function nkctlProcess(args: readonly string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  const env: Record<string, string> = cliEnv(scratch, { XDG_CONFIG_HOME: join(scratch, "no-config"), ...options.env });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/nkctl.js", ...args], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

function copyHomelab(): string {
  const dir = tempDir("homelab");
  cpSync(HOMELAB, dir, { recursive: true });
  return dir;
}

function edit(path: string, from: string, to: string): void {
  const text = readFileSync(path, "utf8");
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
}

/** Every file under `dir` by relative path. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out;
}

function git(dir: string, ...args: string[]): void {
  execFileSync("git", ["-c", "user.name=nk test", "-c", "user.email=test@nk.invalid", "-c", "init.defaultBranch=main", ...args], { cwd: dir, stdio: "ignore" });
}

function brokenHomelab(): string {
  const dir = copyHomelab();
  edit(join(dir, "inventory.yaml"), "n2: { address: 172.30.190.4,", "n2: { address: 172.30.190.3,");
  edit(join(dir, "inventory.yaml"), "    address: 172.30.190.6\n", "    address: 10.0.0.6\n    colour: blue\n");
  edit(join(dir, "nodes/n5.nix"), "updateMicrocode = true;", "updateMicrocode = ;");
  return dir;
}

const BROKEN_INVENTORY_LINES = [
  "inventory.yaml:32:18 nodes.n2.address: 172.30.190.3 is already the address of node n1",
  "inventory.yaml:35:14 nodes.n4.address: 10.0.0.6 is outside the cluster subnet 172.30.190.0/24",
  'inventory.yaml:36:5 nodes.n4.colour: unknown key "colour" (expected one of: address, role, init, interface, system, boot, boot_device, labels, taints, checks, k3s_extra_flags, build_fallback)',
];

describe("nkctl validate", () => {
  it("passes the homelab example with a summary of its nodes", async () => {
    const run = await nkctlProcess(["validate", "examples/homelab"]);
    expect(run).toMatchObject({ code: 0, stdout: "ok: 5 nodes (3 servers, 2 agents)\n" });
  });

  it("prints every problem of a broken copy as file:line:col field: message, the paths under the folder named, and exits 1", async () => {
    const dir = brokenHomelab();
    const run = await nkctlProcess(["validate", dir]);
    const nixLine = "nodes/n5.nix:4:40 invalid Nix: syntax error, unexpected ';'";
    const expected = HAS_NIX ? [...BROKEN_INVENTORY_LINES, nixLine] : BROKEN_INVENTORY_LINES;
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`${[...expected.map((l) => join(dir, l)), `${expected.length} errors`].join("\n")}\n`);
  });

  it("warns and skips the Nix check when nix-instantiate is not installed", async () => {
    const dir = brokenHomelab();
    const run = await nkctlProcess(["validate", dir], { env: { PATH: join(scratch, "empty-path") } });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`${[...BROKEN_INVENTORY_LINES.map((l) => join(dir, l)), "3 errors"].join("\n")}\n`);
    expect(run.stderr).toMatch(/^nkctl: warning: Nix syntax of 2 files not checked: nix-instantiate not found/);
  });

  it("reports JSON for scripts", async () => {
    const bad = JSON.parse((await nkctl(["-o", "json", "validate", brokenHomelab()])).stdout);
    expect(bad.ok).toBe(false);
    expect(bad.nodes).toEqual([]);
    expect(bad.diagnostics[0]).toEqual({ file: "inventory.yaml", line: 32, col: 18, field: "nodes.n2.address", message: "172.30.190.3 is already the address of node n1", severity: "error" });
    const good = JSON.parse((await nkctl(["validate", "examples/homelab", "-o", "json"])).stdout);
    expect(good).toMatchObject({ ok: true, diagnostics: [] });
    expect(good.nodes.map((n: { name: string; role: string }) => `${n.name}:${n.role}`)).toEqual(["n1:server", "n2:server", "n3:server", "n4:agent", "n5:agent"]);
  });

  it("exits 2 for a directory that does not exist", async () => {
    const run = await nkctl(["validate", join(scratch, "missing")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`nkctl: ${join(scratch, "missing")} does not exist\n`);
  });
});

describe("nkctl render", () => {
  it("writes <out>/<node>/<files> whose hashes match the listing, identically twice", async () => {
    const [a, b] = [tempDir("render-a"), tempDir("render-b")];
    const first = await nkctl(["-o", "json", "render", "examples/homelab", "--out", a]);
    const second = await nkctl(["render", "examples/homelab", "--out", b, "-o", "json"]);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.stdout).toBe(first.stdout);
    const listing = JSON.parse(first.stdout) as { bundles: { node: string; sha256: string; files: string[] }[] };
    expect(listing.bundles.map((x) => x.node)).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    expect(tree(a)).toEqual(tree(b));
    for (const bundle of listing.bundles) {
      const files = [...tree(join(a, bundle.node))].map(([path, content]) => ({ path, content }));
      expect(files.map((f) => f.path).sort()).toEqual([...bundle.files].sort());
      expect(makeBundle(bundle.node, files).sha256).toBe(bundle.sha256);
    }
    expect(readdirSync(join(a, "n5", "extra")).sort()).toEqual(["common", "node.nix"]);
    expect(readFileSync(join(a, "n5", "extra", "node.nix"), "utf8")).toBe(readFileSync(join(HOMELAB, "nodes/n5.nix"), "utf8"));
    // manifests/hello.yaml is not a bootstrap file: the coordinator applies it, no bundle carries it.
    expect(listing.bundles.filter((x) => x.files.some((f) => f.startsWith("manifests/")))).toEqual([]);
  });

  it("refuses a non-empty --out unless --force, and prints a table without --out", async () => {
    const out = tempDir("render-force");
    expect((await nkctl(["render", "examples/homelab", "--out", out, "--node", "n1"])).code).toBe(0);
    const refused = await nkctl(["render", "examples/homelab", "--out", out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`nkctl: ${out} is not empty (use --force to replace the node folders in it)\n`);
    expect((await nkctl(["render", "examples/homelab", "--out", out, "--force"])).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    const table = await nkctl(["render", "examples/homelab", "--node", "n4"]);
    expect(table.stdout).toMatch(/^NODE {2}ROLE {3}SHA256 {60}FILES\nn4 {4}agent {2}[0-9a-f]{64} {2}10\n$/);
  });

  it("exits 4 for an unknown node and 1 for an invalid inventory", async () => {
    const unknown = await nkctl(["render", "examples/homelab", "--node", "n9"]);
    expect(unknown).toMatchObject({ code: 4, stderr: 'nkctl: node "n9" is not in the inventory in examples/homelab\n' });
    const invalid = await nkctl(["render", brokenHomelab()]);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toBe("");
    expect(invalid.stderr).toContain(`${BROKEN_INVENTORY_LINES[0]}\n`);
    expect(invalid.stderr).toContain("3 errors: not rendered\n");
  });
});

describe("nkctl diff", () => {
  const repo = tempDir("diff-repo");
  cpSync(HOMELAB, repo, { recursive: true });
  git(repo, "init", "-q");
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "homelab");
  edit(join(repo, "inventory.yaml"), "    address: 172.30.190.6\n", "    address: 172.30.190.16\n");
  edit(join(repo, "nodes/n5.nix"), "updateMicrocode = true;", "updateMicrocode = false;");
  git(repo, "commit", "-q", "-a", "-m", "move n4, change n5");

  it("shows diffs only for the changed nodes; the rest need no action", async () => {
    const run = await nkctl(["diff", "HEAD~1", "HEAD", "--repo", repo]);
    expect(run.code).toBe(0);
    const lines = run.stdout.split("\n");
    for (const n of ["n1", "n2", "n3"]) expect(lines).toContain(`${n}: no action needed`);
    expect(lines.filter((l) => / changes \([0-9a-f]{12} -> [0-9a-f]{12}\)$/.test(l)).map((l) => l.split(":")[0])).toEqual(["n4", "n5"]);
    expect(lines).toContain('-      { address = "172.30.190.6"; prefixLength = 24; }');
    expect(lines).toContain("+  hardware.cpu.intel.updateMicrocode = false;");
    expect(run.stdout.endsWith("2 of 5 nodes change\n")).toBe(true);
  });

  it("exits 1 with --exit-code when anything differs, 0 when the chosen node does not", async () => {
    expect((await nkctl(["diff", "HEAD~1", "HEAD", "--repo", repo, "--exit-code"])).code).toBe(1);
    const n1 = await nkctl(["diff", "HEAD~1", "HEAD", "--repo", repo, "--node", "n1", "--exit-code"]);
    expect(n1).toMatchObject({ code: 0, stdout: "n1: no action needed\n0 of 1 node change\n" });
  });

  it("reports JSON and exits 4 for an unknown revision", async () => {
    const json = JSON.parse((await nkctl(["-o", "json", "diff", "HEAD~1", "HEAD", "--repo", repo])).stdout);
    expect(json).toMatchObject({ changed: 2, total: 5 });
    expect(json.nodes.filter((n: { changed: boolean }) => n.changed).map((n: { node: string }) => n.node)).toEqual(["n4", "n5"]);
    const unknown = await nkctl(["diff", "HEAD~1", "no-such-rev", "--repo", repo]);
    expect(unknown).toMatchObject({ code: 4, stderr: `nkctl: no such revision "no-such-rev" in ${repo}\n` });
  });
});

describe("nkctl import", () => {
  it("imports the nk3 fixture into a folder that validates once nkctl pin has locked its inputs", async () => {
    const out = tempDir("import-nk3");
    const run = await nkctl(["import", "nk3", join(FIXTURES, "nk3/inventory.yaml"), "--out", out, "--ssh-key", KEY]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("note: ");
    expect(run.stderr).toContain("nkctl secret set k3s-token");
    expect(readdirSync(out).sort()).toEqual(["common", "inventory.yaml"]);
    expect(await nkctl(["validate", out])).toMatchObject({
      code: 1,
      stdout:
        `${out}/inventory.yaml:4:3 cluster.agent: the nk source is not locked (there is no nk.lock): run nkctl pin (it locks the source the coordinator serves), or set cluster.agent.flake\n` +
        `${out}/inventory.yaml:6:5 cluster.nixpkgs: "github:NixOS/nixpkgs/nixos-24.05" is not locked (there is no nk.lock): run nkctl pin\n` +
        "2 errors\n",
    });
    await pinSynthetic(out);
    expect(await nkctl(["validate", out])).toMatchObject({ code: 0, stdout: "ok: 3 nodes (3 servers, 0 agents)\n" });
  });

  it("imports the csv plans; without --ssh-key the only error is the missing key", async () => {
    const withKey = tempDir("import-plans");
    expect((await nkctl(["import", "plans", join(FIXTURES, "plans"), "--out", withKey, "--ssh-key", KEY, "--cluster-name", "lab"])).code).toBe(0);
    await pinSynthetic(withKey);
    const ok = await nkctl(["validate", withKey]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok: 5 nodes \(3 servers, 1 agent, 1 without k3s\)/);
    expect(readFileSync(join(withKey, "inventory.yaml"), "utf8")).toContain("name: lab");

    const stdout = await nkctl(["import", "plans", join(FIXTURES, "plans")]);
    expect(stdout.code).toBe(0);
    expect(stdout.stdout).toMatch(/^# nk inventory imported from the csv plans/);
    const noKey = tempDir("import-plans-nokey");
    await nkctl(["import", "plans", join(FIXTURES, "plans"), "--out", noKey]);
    const bad = await nkctl(["validate", noKey]);
    expect(bad.code).toBe(1);
    expect(bad.stdout.startsWith(`${noKey}/inventory.yaml:`)).toBe(true);
    expect(bad.stdout).toMatch(/inventory\.yaml:\d+:\d+ cluster\.admin\.ssh_keys: needs at least one public key \(there are no passwords\)\n1 error\n$/);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("nkctl usage, configuration and an unreachable coordinator", () => {
  it("documents the exit codes and exits 2 on usage errors", async () => {
    const help = await nkctlProcess(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Exit codes:\n  0  ok\n");
    const bad = await nkctlProcess(["validate", "--bogus"]);
    expect(bad).toMatchObject({ code: 2, stderr: "nkctl: unknown option '--bogus'\n" });
    expect(await nkctlProcess(["-o", "xml", "validate"])).toMatchObject({ code: 2, stderr: "nkctl: option '-o, --output <format>' argument 'xml' is invalid. Allowed choices are table, wide, json, yaml.\n" });
  });

  it("exits 3 with a clear message when nothing listens at the coordinator address", async () => {
    const port = await closedPort();
    const run = await nkctlProcess(["status", "--coordinator", `127.0.0.1:${port}`, "--insecure"], { env: { NK_TOKEN: "admin-token-0123456789" } });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(new RegExp(`^nkctl: cannot reach coordinator at 127\\.0\\.0\\.1:${port}: `));
  });

  it("exits 2 without coordinator settings or with an invalid config file", async () => {
    const none = await nkctl(["nodes"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^nkctl: no coordinator: pass --coordinator host:port, set NK_COORDINATOR, or put coordinator: in /);
    const xdg = tempDir("xdg");
    mkdirSync(join(xdg, "nk"), { recursive: true });
    writeFileSync(join(xdg, "nk", "config.yaml"), "coordinator: not a host\ntokenfile: /x\n");
    const invalid = await nkctl(["lease", "list"], { env: { XDG_CONFIG_HOME: xdg } });
    expect(invalid.code).toBe(2);
    const path = join(xdg, "nk", "config.yaml");
    expect(invalid.stderr).toBe(
      `nkctl: invalid config file:\n${path}:1:14 coordinator: expected host:port, e.g. coordinator.lan:7443\n${path}:2:1 tokenfile: unknown key (expected one of coordinator, tokenFile, caFile)\n`,
    );
  });

  it("refuses an empty secret before contacting the coordinator", async () => {
    const run = await nkctlProcess(["secret", "set", "k3s-token"], { input: "\n" });
    expect(run).toMatchObject({ code: 2, stderr: "nkctl: refusing to set k3s-token to an empty value (pipe the value on stdin)\n" });
  });
});
