// Bad input gets a message that names the flag or path and what to do, and leaves what was on disk as it was.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pushPreview, resolveRevision } from "./git-tree.js";
import { OUT_LOCK, swapIn, writeBundles, type BundleView } from "./write-bundles.js";
import { readRepoDir } from "./repo-files.js";
import { runCli } from "./run-cli.js";
import { testContext } from "./test-context.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "nkctl-bad-input-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const bundle = (node: string, text: string): BundleView => ({ node, role: "agent", sha256: "", files: [{ path: "configuration.nix", content: text }, { path: "nk/agent.nix", content: `# ${node}\n` }] });

/** Every file under `root` with its content, for a before/after comparison. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(path);
      else out[path] = readFileSync(join(root, path), "utf8");
    }
  };
  walk("");
  return out;
}

async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const ctx = testContext();
  const stderr: string[] = [];
  const code = await runCli(["node", "nkctl", ...args], { ...ctx, stderr: { write: (s: string) => stderr.push(s) }, cwd: dir });
  return { code, stderr: stderr.join("") };
}

describe("writeBundles (render --out, render-installer --out)", () => {
  it("replaces the node folders and leaves everything else, with no staging or earlier folder behind", async () => {
    const out = join(dir, "out");
    await writeBundles(out, [bundle("n1", "one"), bundle("n2", "two")], false);
    writeFileSync(join(out, "README"), "mine\n");
    writeFileSync(join(out, "n1", "stale.nix"), "gone after the replace\n");
    await writeBundles(out, [bundle("n1", "one'"), bundle("n3", "three")], true);
    expect(snapshot(out)).toEqual({
      README: "mine\n",
      "n1/configuration.nix": "one'",
      "n1/nk/agent.nix": "# n1\n",
      "n2/configuration.nix": "two",
      "n2/nk/agent.nix": "# n2\n",
      "n3/configuration.nix": "three",
      "n3/nk/agent.nix": "# n3\n",
    });
  });

  it("writes nothing when a node cannot be staged, and says which file", async () => {
    const out = join(dir, "out");
    await writeBundles(out, [bundle("n1", "one"), bundle("n2", "two")], false);
    const before = snapshot(out);
    // "nk" is a file in n2's bundle and a folder in its nk/agent.nix: the second write fails.
    const clash: BundleView = { node: "n2", role: "agent", sha256: "", files: [{ path: "nk", content: "x" }, { path: "nk/agent.nix", content: "y" }] };
    await expect(writeBundles(out, [bundle("n1", "one'"), clash], true)).rejects.toThrow(`cannot write ${join(out, "n2", "nk/agent.nix")}: a file or folder is already in the way; nothing in ${out} was changed`);
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(out).sort()).toEqual(["n1", "n2"]);
  });

  it("puts every node back when a swap fails half-way", async () => {
    const out = join(dir, "out");
    await writeBundles(out, [bundle("n1", "one"), bundle("n2", "two")], false);
    const before = snapshot(out);
    // Staged by hand (writeBundles names its staging folder at random): n2's earlier folder cannot be moved aside,
    // because a non-empty folder already has the name it would take.
    const staging = join(out, ".nk-staging-test");
    for (const [node, text] of [["n1", "one'"], ["n2", "two'"]] as const) {
      mkdirSync(join(staging, node), { recursive: true });
      writeFileSync(join(staging, node, "configuration.nix"), text);
    }
    mkdirSync(join(out, ".n2.earlier-test"));
    writeFileSync(join(out, ".n2.earlier-test", "in-the-way"), "x");
    const earlier: string[] = [];
    await expect(swapIn(out, staging, [bundle("n1", ""), bundle("n2", "")], earlier)).rejects.toThrow(new RegExp(`^cannot replace ${join(out, "n2")}: .*; ${out} is as it was$`));
    rmSync(join(out, ".n2.earlier-test"), { recursive: true });
    rmSync(staging, { recursive: true });
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(out).sort()).toEqual(["n1", "n2"]);
    expect(earlier).toEqual([]);
  });

  it("never merges a leftover of an interrupted run into the output", async () => {
    const out = join(dir, "out");
    await writeBundles(out, [bundle("n1", "one")], false);
    // What a run stopped by Ctrl-C under the same pid (pid 1 in a container) left behind.
    mkdirSync(join(out, `.nk-staging-${process.pid}`, "n1"), { recursive: true });
    writeFileSync(join(out, `.nk-staging-${process.pid}`, "n1", "enroll-token"), "an old token\n");
    await writeBundles(out, [bundle("n1", "one'")], true);
    expect(readdirSync(join(out, "n1")).sort()).toEqual(["configuration.nix", "nk"]);
    // Removed once the lock was taken: it belonged to a writer that died.
    expect(readdirSync(out).sort()).toEqual(["n1"]);
  });

  it("leaves --out as it was when Ctrl-C comes at any step, and says so", async () => {
    const out = join(dir, "out");
    await writeBundles(out, [bundle("n1", "one"), bundle("n2", "two")], false);
    const before = snapshot(out);
    // A signal that aborts after `k` looks: every step of the staging and of the swaps in turn.
    const abortAfter = (k: number): AbortSignal => {
      let looks = 0;
      return { get aborted() { return ++looks > k; } } as AbortSignal;
    };
    const next = [bundle("n1", "one'"), bundle("n2", "two'"), bundle("n3", "three")];
    let k = 0;
    for (; k < 50; k++) {
      const outcome = await writeBundles(out, next, true, () => undefined, abortAfter(k)).then(() => null, (err: Error) => err.message);
      if (outcome === null) break;
      expect(outcome).toMatch(new RegExp(`^interrupted(: nothing in ${out} was changed|; ${out} is as it was)$`));
      expect(snapshot(out)).toEqual(before);
      expect(readdirSync(out).sort()).toEqual(["n1", "n2"]);
    }
    // Six files staged, three swaps: every one of those steps was interrupted once before a run got through.
    expect(k).toBe(9);
    expect(snapshot(out)["n3/configuration.nix"]).toBe("three");
    expect(readdirSync(out).sort()).toEqual(["n1", "n2", "n3"]);
  });

  it("removes an --out it created, parents and all, when a node cannot be staged, and says it was not created", async () => {
    const out = join(dir, "new", "out");
    const clash: BundleView = { node: "n2", role: "agent", sha256: "", files: [{ path: "nk", content: "x" }, { path: "nk/agent.nix", content: "y" }] };
    await expect(writeBundles(out, [bundle("n1", "one"), clash], false)).rejects.toThrow(`cannot write ${join(out, "n2", "nk/agent.nix")}: a file or folder is already in the way; ${out} was not created`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("removes an --out it created when Ctrl-C comes at any step, and says it was not created", async () => {
    const out = join(dir, "out");
    const abortAfter = (k: number): AbortSignal => {
      let looks = 0;
      return { get aborted() { return ++looks > k; } } as AbortSignal;
    };
    let k = 0;
    for (; k < 50; k++) {
      const outcome = await writeBundles(out, [bundle("n1", "one"), bundle("n2", "two")], false, () => undefined, abortAfter(k)).then(() => null, (err: Error) => err.message);
      if (outcome === null) break;
      expect([`interrupted: ${out} was not created`, `interrupted; ${out} was not created`]).toContain(outcome);
      expect(existsSync(out)).toBe(false);
    }
    // Four files staged, two swaps: every one of those steps was interrupted once before a run got through.
    expect(k).toBe(6);
    expect(readdirSync(out).sort()).toEqual(["n1", "n2"]);
  });

  it("leaves an --out it created when something else was put in it meanwhile, and says so", async () => {
    const out = join(dir, "out");
    // Ctrl-C at the first file; by then another writer waiting for the lock has a file in it.
    const signal = { get aborted() { writeFileSync(join(out, `${OUT_LOCK}.other`), "1\n"); return true; } } as AbortSignal;
    await expect(writeBundles(out, [bundle("n1", "one")], false, () => undefined, signal)).rejects.toThrow(
      `interrupted: ${out} was created by this run but is left (the folder is not empty): remove it if no nkctl is writing into it`,
    );
    expect(readdirSync(out)).toEqual([`${OUT_LOCK}.other`]);
  });

  it("lets one writer at a time into --out, and takes over the lock of one that died", async () => {
    const out = join(dir, "out");
    await writeBundles(out, [bundle("n1", "one")], false);
    // A live process holds it (this test's parent, say): refused, nothing written.
    writeFileSync(join(out, OUT_LOCK), `${process.ppid}\n`);
    await expect(writeBundles(out, [bundle("n1", "one'")], true)).rejects.toThrow(`another nkctl (pid ${process.ppid}) is writing into ${out}: wait for it to finish (or, if no nkctl runs, remove ${join(out, OUT_LOCK)})`);
    expect(snapshot(out)["n1/configuration.nix"]).toBe("one");
    // Its process is gone (pids never reach 2^22 + 1 on Linux): taken over, and removed after the write.
    writeFileSync(join(out, OUT_LOCK), `${2 ** 22 + 1}\n`);
    await writeBundles(out, [bundle("n1", "one'")], true);
    expect(readdirSync(out).sort()).toEqual(["n1"]);
    expect(snapshot(out)["n1/configuration.nix"]).toBe("one'");
    // This very pid, not held by this process: an earlier run under a reused pid (pid 1 in a container).
    writeFileSync(join(out, OUT_LOCK), `${process.pid}\n`);
    await writeBundles(out, [bundle("n1", "one''")], true);
    expect(snapshot(out)["n1/configuration.nix"]).toBe("one''");
    // Naming no process: refused, not guessed at.
    writeFileSync(join(out, OUT_LOCK), "");
    await expect(writeBundles(out, [bundle("n1", "x")], true)).rejects.toThrow(`${join(out, OUT_LOCK)} is in the way and names no process: if no nkctl is writing into ${out}, remove it`);
    rmSync(join(out, OUT_LOCK));
    expect(readdirSync(out).sort()).toEqual(["n1"]);
    // A stale lock does not make an otherwise empty --out "not empty".
    const fresh = join(dir, "fresh");
    mkdirSync(fresh);
    writeFileSync(join(fresh, OUT_LOCK), `${2 ** 22 + 1}\n`);
    await writeBundles(fresh, [bundle("n1", "one")], false);
    expect(readdirSync(fresh).sort()).toEqual(["n1"]);
  });

  it("never mixes two writers' output in one --out", async () => {
    const out = join(dir, "out");
    const a = [bundle("n1", "a1"), bundle("n2", "a2")];
    const b = [bundle("n1", "b1"), bundle("n2", "b2")];
    const results = await Promise.allSettled([writeBundles(out, a, true), writeBundles(out, b, true)]);
    expect(results.some((r) => r.status === "fulfilled")).toBe(true);
    for (const r of results) if (r.status === "rejected") expect(String(r.reason)).toContain(`this nkctl is already writing into ${out}`);
    const files = snapshot(out);
    expect([["a1", "a2"], ["b1", "b2"]]).toContainEqual([files["n1/configuration.nix"], files["n2/configuration.nix"]]);
    expect(readdirSync(out).sort()).toEqual(["n1", "n2"]);
  });

  it("refuses a file as --out, and a non-empty folder without --force", async () => {
    writeFileSync(join(dir, "afile"), "x");
    await expect(writeBundles(join(dir, "afile"), [bundle("n1", "one")], true)).rejects.toThrow(`--out ${join(dir, "afile")} is a file, not a directory`);
    await expect(writeBundles(dir, [bundle("n1", "one")], false)).rejects.toThrow(`${dir} is not empty (use --force to replace the node folders in it)`);
    expect(existsSync(join(dir, "n1"))).toBe(false);
  });
});

describe("paths and repositories that are not what a command needs", () => {
  it("tells a missing checkout from a file given as one", async () => {
    writeFileSync(join(dir, "afile"), "x");
    await expect(readRepoDir(join(dir, "missing"))).rejects.toThrow(`${join(dir, "missing")} does not exist`);
    await expect(readRepoDir(join(dir, "afile"))).rejects.toThrow(`${join(dir, "afile")} is a file, not a directory (name the inventory checkout)`);
    await expect(resolveRevision(join(dir, "missing"), "HEAD")).rejects.toThrow(`${join(dir, "missing")} does not exist (name a git checkout of the inventory)`);
    await expect(resolveRevision(dir, "HEAD")).rejects.toThrow(`${dir} is not a git repository (a revision is read from a git checkout of the inventory)`);
  });

  it("says a preview's remote does not exist instead of passing on git's refusal", async () => {
    execFileSync("git", ["init", "-q", dir]);
    await expect(pushPreview(dir, "nk", "0".repeat(40), "bump")).rejects.toThrow(`${dir} has no git remote "nk": add the coordinator's repo (git remote add nk https://<coordinator>:7080/git/inventory.git) or name another with --remote`);
  });
});

describe("nkctl argument checks that need no coordinator", () => {
  it("refuses a secret's value on the command line without echoing it", async () => {
    const run = await cli("secret", "set", "k3s-token", "s3cr3tVALUE");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("secret set takes the value on stdin, never as an argument");
    expect(run.stderr).not.toContain("s3cr3tVALUE");
  });

  it("checks a lease holder's name before asking the coordinator", async () => {
    const run = await cli("lease", "release", "Bad_Node");
    expect(run).toEqual({ code: 2, stderr: `nkctl: "Bad_Node" is not a node name (a DNS label: lower-case letters, digits, '-')\n` });
  });

  it("names the flag of a bad coordinator address, a CA file without a certificate and a missing or empty token file", async () => {
    const example = join(import.meta.dirname, "..", "..", "examples", "homelab");
    const args = (...more: string[]): string[] => ["render-installer", "n2", "--dir", example, "--out", join(dir, "stick"), ...more];
    const pem = join(dir, "ca.pem");
    writeFileSync(pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    writeFileSync(join(dir, "ca.crt"), "not a certificate\n");
    writeFileSync(join(dir, "empty"), "\n");
    expect(await cli(...args("--node-coordinator", "http://c:7443", "--ca-file", pem))).toEqual({
      code: 2,
      stderr: `nkctl: --node-coordinator: "http://c:7443" is not host:port (the agent's gRPC address, e.g. coordinator.lan:7443)\n`,
    });
    const coordinator = ["--node-coordinator", "127.0.0.1:7443"];
    expect(await cli(...args(...coordinator, "--ca-file", join(dir, "ca.crt")))).toEqual({
      code: 2,
      stderr: `nkctl: ${join(dir, "ca.crt")} (--ca-file) holds no PEM certificate: use the coordinator's <stateDir>/tls/ca.crt\n`,
    });
    expect(await cli(...args(...coordinator, "--ca-file", pem, "--enroll-token-file", join(dir, "missing")))).toEqual({
      code: 2,
      stderr: `nkctl: cannot read --enroll-token-file ${join(dir, "missing")}: no such file or directory\n`,
    });
    expect(await cli(...args(...coordinator, "--ca-file", pem, "--enroll-token-file", join(dir, "empty")))).toEqual({
      code: 2,
      stderr: `nkctl: --enroll-token-file ${join(dir, "empty")} is empty (get a token with: nkctl node enroll n2 -o json | jq -r .token > ${join(dir, "empty")})\n`,
    });
    expect(existsSync(join(dir, "stick"))).toBe(false);
  });
});
