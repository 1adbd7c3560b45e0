// Integration: nkctl against the assembled coordinator — JSON output and exit codes of every online command. The
// commands run in-process (runCli, what bin/nkctl.js runs) to spare a Node start per command; the --watch test runs
// the real binary, and nkctl-offline.test.ts covers the binary's own exit codes.
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { EnrollNodeRequest, EnrollNodeResponse, GetStatusRequest, GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { ReportRequest } from "../../shared/src/proto/gen/nk/v1/agent.js";
import { applyPhaseToWire } from "../../shared/src/wire/index.js";
import { NO_KUBE_WARNING } from "../../coordinator/src/kube/index.js";
import { freePort } from "../support/free-port.js";
import { adminCall, REPO_ROOT, startHarness, type Harness } from "../support/coordinator-harness.js";
import type { CliResult } from "../support/nkctl-runner.js";
import { runNkctlInProcess } from "../support/nkctl-in-process.js";
import { cliEnv } from "../support/cli-env.js";


describe("nkctl online commands", () => {
  let h: Harness;
  let first = "";
  let second = "";
  let flags: string[] = [];
  let env: NodeJS.ProcessEnv;
  let status: () => Promise<GetStatusResponse>;

  const nkctl = (args: string[], connection = flags): Promise<CliResult> => runNkctlInProcess(args, { flags: connection, env });
  /** Runs with `-o json`, expects exit 0 and returns the parsed output. */
  const json = async <T = Record<string, unknown>>(args: string[]): Promise<T> => {
    const r = await nkctl(["-o", "json", ...args]);
    expect(r.code, `nkctl ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    h = await startHarness();
    const { client, metadata } = h.admin();
    status = () => adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata);
    const caFile = join(h.workDir, "ca.crt");
    const tokenFile = join(h.workDir, "admin.token");
    await writeFile(caFile, h.coordinator.caPem);
    await writeFile(tokenFile, `${h.coordinator.adminToken}\n`, { mode: 0o600 });
    flags = ["--coordinator", `127.0.0.1:${h.coordinator.grpcPort}`, "--ca-file", caFile, "--token-file", tokenFile];
    env = cliEnv(h.workDir);
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("nkctl-online-k3s-token") }, metadata);
    const { token } = await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node: "n1" }, metadata);
    await h.push("initial");
    first = (await h.git("rev-parse", "HEAD")).stdout.trim();
    await writeFile(join(h.checkout, "nodes/n5.nix"), `${await readFile(join(h.checkout, "nodes/n5.nix"), "utf8")}# second\n`);
    await h.push("n5 only");
    second = (await h.git("rev-parse", "HEAD")).stdout.trim();
    const n1 = (await status()).nodes.find((n) => n.name === "n1")!;
    await h.agent("n1", token).report(ReportRequest.fromPartial({
      phase: applyPhaseToWire("confirmed"),
      health: { healthy: true, checks: [], observedAtMs: Date.now() },
      agentVersion: "0.1.0",
      appliedRevision: n1.desiredRevision,
      appliedSha256: n1.desiredSha256,
    }));
  });

  afterAll(async () => {
    await h?.close();
  });

  it("status and nodes", async () => {
    const [s, table, nodes, nodesTable] = await Promise.all([json(["status"]), nkctl(["status"]), json<{ nodes: Array<Record<string, unknown>> }>(["nodes"]), nkctl(["nodes"])]);
    expect(s).toMatchObject({
      cluster: "homelab",
      coordinator: { address: `127.0.0.1:${h.coordinator.grpcPort}`, version: "0.1.0", leader: true },
      // The harness runs with kube: none, and nkctl says what that means.
      warnings: [NO_KUBE_WARNING],
      rollout: { state: "running", revision: second, paused: false, halted: false, nodesTotal: 5, nodesConverged: 1 },
      leases: { held: [], queue: [] },
    });
    // Local build mode: no build progress at all.
    expect(s).not.toHaveProperty("builds");
    expect(table.stdout).not.toMatch(/^builds/m);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^cluster\s+homelab$/m);
    expect(table.stdout.split("\n").filter((l) => /^warning\s+/.test(l)).map((l) => l.replace(/^warning\s+/, ""))).toEqual([NO_KUBE_WARNING]);
    expect(table.stdout).toMatch(new RegExp(`^revision\\s+${second.slice(0, 12)}`, "m"));
    expect(table.stdout).toMatch(/^converged\s+1\/5 nodes$/m);
    expect(nodes.nodes.map((n) => n.name)).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    expect(nodes.nodes[0]).toMatchObject({ name: "n1", enrolled: true, desiredRevision: first, appliedRevision: first, phase: "confirmed", agentVersion: "0.1.0" });
    expect(nodes.nodes[4]).toMatchObject({ name: "n5", enrolled: false, desiredRevision: second, appliedRevision: "" });
    expect(nodesTable.stdout.split("\n")[0]).toMatch(/^NAME\s+ROLE\s+ADDRESS\s+DESIRED\s+APPLIED\s+PHASE\s+HEALTH\s+LEASE\s+AGENT\s+LAST-SEEN$/);
    expect(nodesTable.stdout).toMatch(/^n5\s+agent\s+172\.30\.190\.7\s+/m);
  });

  it("node enroll prints a working one-time token", async () => {
    const res = await json<{ node: string; token: string; tokenPath: string }>(["node", "enroll", "n3"]);
    expect(res).toMatchObject({ node: "n3", tokenPath: "/etc/nk/token" });
    expect(res.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const hello = await h.agent("n3", res.token).hello({ agentVersion: "0.1.0", bootId: "b", bootedSystem: "", currentSystem: "", systemInfo: undefined, phase: 0, appliedRevision: "", appliedSha256: "", heldFencingToken: 0 });
    expect(hello.cluster).toBe("homelab");
    const text = await nkctl(["node", "enroll", "n4"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Token for node n4 \(shown once/);
    const bad = await nkctl(["node", "enroll", "Bad_Name"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('nkctl: "Bad_Name" is not a node name (a DNS label: lower-case letters, digits, \'-\')\n');
    expect((await status()).nodes.filter((n) => n.enrolled).map((n) => n.name)).toEqual(["n1", "n3", "n4"]);
  });

  it("rollout pause, status, resume; lease list; events --tail", async () => {
    const paused = await json(["rollout", "pause", "--reason", "disk swap on n2"]);
    expect(paused).toMatchObject({ state: "paused", paused: true, pauseReason: "disk swap on n2", revision: second });
    expect(await json(["rollout", "status"])).toMatchObject({ state: "paused", pauseReason: "disk swap on n2" });
    const leases = await json(["lease", "list"]);
    expect(leases).toEqual({ held: [], queue: [], rollout: expect.objectContaining({ state: "paused" }) });
    const leaseTable = await nkctl(["lease", "list"]);
    expect(leaseTable.stdout).toBe("no lease held\nqueue empty\nrollout paused: disk swap on n2\n");
    const resumed = await json(["rollout", "resume"]);
    expect(resumed).toMatchObject({ state: "running", paused: false });
    expect((await status()).rollout?.paused).toBe(false);

    const events = await nkctl(["-o", "json", "events", "--tail", "5"]);
    expect(events.code, events.stderr).toBe(0);
    const lines = events.stdout.trim().split("\n").map((l) => JSON.parse(l) as { seq: number; kind: string; message: string });
    expect(lines).toHaveLength(5);
    expect(lines.map((e) => e.seq)).toEqual([...lines.map((e) => e.seq)].sort((a, b) => a - b));
    // Each admin action is followed by its audit line.
    expect(lines.slice(-4).map((e) => e.kind)).toEqual(["rollout-paused", "audit", "rollout-resumed", "audit"]);
    const text = await nkctl(["events", "--tail", "4"]);
    expect(text.stdout.trim().split("\n")).toHaveLength(4);
    expect(text.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}rollout-paused/m);
    expect((await nkctl(["events", "--tail", "x"])).code).toBe(2);
  });

  it("lease list --watch redraws when an event happens; -o yaml and wide", async () => {
    const { client, metadata } = h.admin();
    await adminCall(client.resumeRollout.bind(client), {}, metadata);
    const child = spawn(process.execPath, [join(REPO_ROOT, "bin/nkctl.js"), ...flags, "-o", "yaml", "lease", "list", "--watch", "--count", "2", "--interval", "3600"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    const firstDraw = new Promise<void>((resolve) => child.stdout.on("data", (c: Buffer) => ((stdout += c.toString()), stdout.includes("rollout:") && resolve())));
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    await firstDraw;
    // The pause is an event: the watch redraws at once, not an hour later, and stops after its second draw.
    await adminCall(client.pauseRollout.bind(client), { reason: "watch me" }, metadata);
    expect(await closed).toBe(0);
    const draws = stdout.split(/^---\n/m).map((d) => parse(d) as { rollout: { paused: boolean; pauseReason: string } });
    expect(draws.map((d) => d.rollout.paused)).toEqual([false, true]);
    expect(draws[1]!.rollout.pauseReason).toBe("watch me");
    await adminCall(client.resumeRollout.bind(client), {}, metadata);

    const wide = await nkctl(["-o", "wide", "nodes"]);
    expect(wide.stdout.split("\n")[0]).toMatch(/LAST-SEEN\s+K8S\s+CORDONED\s+DESIRED-SHA256\s+APPLIED-SHA256$/);
    expect(parse((await nkctl(["-o", "yaml", "status"])).stdout)).toMatchObject({ rollout: { paused: false } });
  });

  it("render --remote: every bundle at the head, one node, unknown node or revision", async () => {
    const all = await json<{ revision: string; bundles: Array<{ node: string; sha256: string; files: string[] }> }>(["render", "--remote"]);
    expect(all.revision).toBe(second);
    const desired = new Map((await status()).nodes.map((n) => [n.name, n.desiredSha256]));
    expect(all.bundles.map((b) => [b.node, b.sha256])).toEqual([...desired]);
    expect(all.bundles[0]!.files).toContain("configuration.nix");
    const one = await json<{ bundles: Array<{ node: string }> }>(["render", "--remote", "--node", "n5", "--revision", first]);
    expect(one.bundles.map((b) => b.node)).toEqual(["n5"]);
    const [unknownNode, unknownRev, withDir] = await Promise.all([
      nkctl(["render", "--remote", "--node", "n9"]),
      nkctl(["render", "--remote", "--revision", "0123456789abcdef0123456789abcdef01234567"]),
      nkctl(["render", "--remote", "somewhere"]),
    ]);
    expect(unknownNode.code).toBe(4);
    expect(unknownNode.stderr).toMatch(/^nkctl: node "n9" is not in revision [0-9a-f]{12}\n$/);
    expect(unknownRev.code).toBe(4);
    expect(unknownRev.stderr).toMatch(/0123456789ab/);
    expect(withDir.code).toBe(2);
  });

  it("build log: an unknown node and a node without a kept build (local mode) exit 4 with the reason", async () => {
    const [unknownNode, noBuild, badRev] = await Promise.all([nkctl(["build", "log", "n9"]), nkctl(["build", "log", "n1", first.slice(0, 12)]), nkctl(["build", "log", "n1", "HEAD"])]);
    expect(unknownNode.code).toBe(4);
    expect(unknownNode.stderr).toBe('nkctl: node "n9" is not in the inventory\n');
    expect(noBuild.code).toBe(4);
    expect(noBuild.stderr).toMatch(new RegExp(`^nkctl: no build of node "n1" at revision ${first.slice(0, 12)} is kept: builds run only with cluster.build.mode = "builders"`));
    expect(badRev.code).toBe(2);
  });

  it("diff --remote: what each node would change, and --exit-code", async () => {
    const d = await json<{ from: string; to: string; changed: number; total: number; nodes: Array<{ node: string; changed: boolean; unified: string }> }>(["diff", "--remote", first, second]);
    expect(d).toMatchObject({ from: first, to: second, changed: 1, total: 5 });
    expect(d.nodes.filter((n) => n.changed).map((n) => n.node)).toEqual(["n5"]);
    expect(d.nodes.find((n) => n.node === "n5")!.unified).toContain("+# second");
    const [differs, same, text, unknown] = await Promise.all([
      nkctl(["diff", "--remote", "--exit-code", first, second]),
      nkctl(["diff", "--remote", "--exit-code", "--node", "n1", first, second]),
      nkctl(["diff", "--remote", first, second]),
      nkctl(["diff", "--remote", first, "feedfacefeedfacefeedfacefeedfacefeedface"]),
    ]);
    expect(differs.code).toBe(1);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toBe("n1: no action needed\n0 of 1 node change\n");
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("n5: changes (");
    expect(text.stdout.trimEnd().split("\n").at(-1)).toBe("1 of 5 nodes change");
    expect(unknown.code).toBe(4);
  });

  it("a wrong token, a wrong CA or no coordinator exit 3 with the reason", async () => {
    const wrongToken = join(h.workDir, "wrong.token");
    await writeFile(wrongToken, `${"w".repeat(43)}\n`);
    const otherCa = join(REPO_ROOT, "node_modules/@grpc/grpc-js/package.json");
    const closed = await freePort();
    const [badToken, badCa, down] = await Promise.all([
      nkctl(["status"], ["--coordinator", `127.0.0.1:${h.coordinator.grpcPort}`, "--ca-file", flags[3]!, "--token-file", wrongToken]),
      nkctl(["status"], ["--coordinator", `127.0.0.1:${h.coordinator.grpcPort}`, "--ca-file", otherCa, "--token-file", flags[5]!]),
      nkctl(["status"], ["--coordinator", `127.0.0.1:${closed}`, "--ca-file", flags[3]!, "--token-file", flags[5]!]),
    ]);
    expect(badToken.code).toBe(3);
    expect(badToken.stderr).toContain("the admin token was refused");
    expect(badCa.code).not.toBe(0);
    expect(badCa.stdout).toBe("");
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`cannot reach coordinator at 127.0.0.1:${closed}`);
  });
  it("node enroll with several names enrolls them in one call: a working token each, one audit line without tokens", async () => {
    const many = await json<Array<{ node: string; token: string; tokenPath: string }>>(["node", "enroll", "n2", "n5"]);
    expect(many.map((e) => [e.node, e.tokenPath])).toEqual([["n2", "/etc/nk/token"], ["n5", "/etc/nk/token"]]);
    for (const e of many) {
      const hello = await h.agent(e.node, e.token).hello({ agentVersion: "0.1.0", bootId: "b", bootedSystem: "", currentSystem: "", systemInfo: undefined, phase: 0, appliedRevision: "", appliedSha256: "", heldFencingToken: 0 });
      expect(hello.cluster).toBe("homelab");
    }
    const audit = JSON.parse((await nkctl(["-o", "json", "audit", "--tail", "1"])).stdout) as { audit: Array<{ action: string; target: string; outcome: string }> };
    expect(audit.audit).toEqual([expect.objectContaining({ action: "EnrollNodes", target: "2 nodes: n2, n5", outcome: "ok" })]);
    for (const e of many) expect(JSON.stringify(audit)).not.toContain(e.token);
    const text = await nkctl(["node", "enroll", "n2", "n5"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Tokens for 2 nodes \(shown once/);
    expect(text.stdout).toMatch(/^ {2}n2 {2}[A-Za-z0-9_-]{43}$/m);
    const twice = await nkctl(["node", "enroll", "n2", "n3", "n2"]);
    expect([twice.code, twice.stderr]).toEqual([2, "nkctl: node names given twice: n2\n"]);
    const bad = await nkctl(["node", "enroll", "n2", "Bad_Name", "x y"]);
    expect([bad.code, bad.stderr]).toEqual([2, 'nkctl: "Bad_Name", "x y" are not node names (a DNS label: lower-case letters, digits, \'-\')\n']);
  });

  it("the status names the bundle a node's report is about: for rolled-back, the one it rolled back from, not the desired one", async () => {
    const { token } = await json<{ token: string }>(["node", "enroll", "n4"]);
    const before = (await status()).nodes.find((n) => n.name === "n4")!;
    const from = "f".repeat(64);
    await h.agent("n4", token).report(ReportRequest.fromPartial({
      phase: applyPhaseToWire("rolled-back"),
      revision: first,
      bundleSha256: from,
      health: { healthy: true, checks: [], observedAtMs: Date.now() },
      agentVersion: "0.1.0",
      appliedRevision: before.desiredRevision,
      appliedSha256: before.desiredSha256,
    }));
    const n4 = (await status()).nodes.find((n) => n.name === "n4")!;
    expect([n4.phase, n4.reportedSha256, n4.desiredSha256, n4.appliedSha256]).toEqual([applyPhaseToWire("rolled-back"), from, before.desiredSha256, before.desiredSha256]);
  });
});
