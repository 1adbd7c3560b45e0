// nk3's own walk-through with the real nkctl: import a three-node cluster, drop its initiator, diff the two revisions.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Readable } from "node:stream";
import { afterAll, expect, it } from "vitest";
import type { CliContext } from "../nkctl/src/cli-context.js";
import { buildProgram } from "../nkctl/src/program.js";
import { nk3Hostname } from "../shared/src/import/index.js";
import { pinSynthetic } from "./support/pin-synthetic.js";

const FIXTURES = fileURLToPath(new URL("fixtures/nk3-walkthrough", import.meta.url));
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop";
const scratch = mkdtempSync(join(tmpdir(), "nk3-walkthrough-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** nkctl's own program in this process (a spawned nkctl pays a TypeScript start-up per call), output captured. */
async function nkctl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const ctx: CliContext = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: Readable.from([]),
    env: { HOME: scratch, XDG_CONFIG_HOME: join(scratch, "no-config") },
    cwd: scratch,
    home: scratch,
    now: () => Date.now(),
    signal: new AbortController().signal,
    handlesInterrupt: false,
    exitCode: 0,
  };
  await buildProgram(ctx).parseAsync(["node", "nkctl", ...args]);
  return { code: ctx.exitCode, stdout, stderr };
}

function git(repo: string, ...args: string[]): void {
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "-C", repo, ...args], { stdio: "ignore" });
}

it("changes only the former initiator, from clusterInit to joining through join_address", async () => {
  const repo = join(scratch, "cluster");
  const first = await nkctl(["import", "nk3", join(FIXTURES, "inventory.yaml"), "--out", repo, "--ssh-key", KEY]);
  expect(first.stderr).toContain("note: ");
  expect(first.code).toBe(0);
  // Importers write no lock; `nkctl pin` would resolve the inputs with the operator's nix (synthetic here).
  await pinSynthetic(repo);
  git(repo, "init", "-q", "-b", "main");
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "imported from nk3");

  const second = await nkctl(["import", "nk3", join(FIXTURES, "bootstrapped.yaml"), "--out", repo, "--ssh-key", KEY, "--force"]);
  expect(second.code).toBe(0);
  await pinSynthetic(repo);
  expect(second.stderr).toContain("note: no node has initiator: true: every node joins through join_address 10.44.0.11 (right for a running cluster, whose etcd exists; wrong for a new one, which needs one initiator to create it)\n");
  git(repo, "commit", "-q", "-a", "-m", "initiator: false");
  // The inventory is valid: the missing init server is a warning that says what it means.
  const validate = await nkctl(["validate", repo]);
  expect(validate.code).toBe(0);
  expect(validate.stdout).toContain("warning: nodes: no server has init: true, so every server joins https://10.44.0.11:6443: right for a running cluster (its etcd exists), wrong for a new one (nothing would create it: mark exactly one server with init: true)");

  const diff = await nkctl(["diff", "HEAD~1", "HEAD", "--repo", repo]);
  // Rendering the bootstrapped revision repeats the validator's warning, naming the revision.
  expect(diff.stderr).toMatch(/^HEAD \([0-9a-f]{12}\): inventory\.yaml:\d+:3 warning: nodes: no server has init: true, so every server joins https:\/\/10\.44\.0\.11:6443: right for a running cluster/);
  expect(diff.code).toBe(0);
  const [initiator, other1, other2] = ["10.44.0.11", "10.44.0.12", "10.44.0.13"].map(nk3Hostname);
  const lines = diff.stdout.split("\n");
  for (const n of [other1, other2]) expect(lines).toContain(`${n}: no action needed`);
  expect(lines.filter((l) => / changes \([0-9a-f]{12} -> [0-9a-f]{12}\)$/.test(l))).toEqual([expect.stringMatching(new RegExp(`^${initiator}: changes`))]);
  expect(lines.filter((l) => l.startsWith("--- ") || l.startsWith("+++ "))).toEqual(["--- a/nk/k3s.nix", "+++ b/nk/k3s.nix"]);
  expect(lines.filter((l) => /^[-+](?![-+]{2} )/.test(l))).toEqual([
    "-    # The init server creates the cluster (embedded etcd); everyone else joins through the API address.",
    "-    clusterInit = true;",
    '+    serverAddr = "https://10.44.0.11:6443";',
  ]);
  expect(diff.stdout.endsWith("1 of 3 nodes change\n")).toBe(true);
}, 60_000);
