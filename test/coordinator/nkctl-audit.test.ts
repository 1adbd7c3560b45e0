// Integration: `nkctl audit` (in-process: runCli, what bin/nkctl.js runs) against a real coordinator: the lines of an
// admin's and a scoped token's actions (gRPC, HTTP, git push), its --token/--action/--tail options, -o json, and never
// a token value.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminCall, startHarness, type Harness } from "../support/coordinator-harness.js";
import type { CliResult } from "../support/nkctl-runner.js";
import { runNkctlInProcess } from "../support/nkctl-in-process.js";
import { cliEnv } from "../support/cli-env.js";

interface AuditLine {
  seq: number;
  timeMs: number;
  actor: string;
  action: string;
  target: string;
  outcome: string;
}

const run = promisify(execFile);

describe("nkctl audit", () => {
  let h: Harness;
  let adminFlags: string[] = [];
  let ciFlags: string[] = [];
  let env: NodeJS.ProcessEnv;
  let ciToken = "";
  const startedAt = Date.now();

  const nkctl = (args: string[], flags = adminFlags): Promise<CliResult> => runNkctlInProcess(args, { flags, env });
  const audit = async (...args: string[]): Promise<AuditLine[]> => {
    const r = await nkctl(["-o", "json", "audit", ...args]);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { audit: AuditLine[] }).audit;
  };
  const brief = (l: AuditLine): string => `${l.actor} ${l.action} ${l.target} ${l.outcome.split(":")[0]}`;

  beforeAll(async () => {
    h = await startHarness();
    const caFile = join(h.workDir, "ca.crt");
    await writeFile(caFile, h.coordinator.caPem);
    const adminFile = join(h.workDir, "admin.token");
    await writeFile(adminFile, `${h.coordinator.adminToken}\n`, { mode: 0o600 });
    const connect = ["--coordinator", `127.0.0.1:${h.coordinator.grpcPort}`, "--ca-file", caFile];
    adminFlags = [...connect, "--token-file", adminFile];
    env = cliEnv(h.workDir);
    const { client, metadata } = h.admin();
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("nkctl-audit-k3s-token") }, metadata);
    await h.push("initial");

    // The actions to find again: an operator token "ci" pauses (nkctl), may not enroll (refused), pushes over
    // HTTPS; the admin resumes over HTTP.
    const created = await nkctl(["-o", "json", "token", "create", "--role", "operator", "--name", "ci"]);
    expect(created.code, created.stderr).toBe(0);
    ciToken = (JSON.parse(created.stdout) as { token: string }).token;
    const ciFile = join(h.workDir, "ci.token");
    await writeFile(ciFile, `${ciToken}\n`, { mode: 0o600 });
    ciFlags = [...connect, "--token-file", ciFile];
    expect((await nkctl(["rollout", "pause", "--reason", "audit test"], ciFlags)).code).toBe(0);
    expect((await nkctl(["node", "enroll", "n9"], ciFlags)).code).not.toBe(0);
    const resumed = await h.fetch("/api/v1/rollout/resume", { method: "POST", headers: { authorization: `Bearer ${h.coordinator.adminToken}` } });
    expect(resumed.status).toBe(200);
    await h.git("commit", "-q", "--allow-empty", "-m", "pushed by ci");
    await run("git", ["-c", "credential.helper=", "-c", `http.sslCAInfo=${h.caFile}`, "push", "-q", `https://ci:${ciToken}@127.0.0.1:${h.coordinator.httpPort}/git/inventory.git`, "main"], { cwd: h.checkout, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
  }, 180_000);

  afterAll(async () => {
    await h?.close();
  });

  it("lists every action in order with the token's name, time, target and outcome (-o json)", async () => {
    const lines = await audit();
    const head = (await h.git("rev-parse", "HEAD")).stdout.trim();
    expect(lines.map(brief)).toEqual([
      "admin SetSecret k3s-token ok",
      `admin push refs/heads/main ${lines[1]!.target.split(" ")[1]} accepted`,
      "admin CreateToken ci ok",
      "ci PauseRollout  ok",
      "ci EnrollNode n9 refused",
      "admin POST /api/v1/rollout/resume  ok",
      `ci push refs/heads/main ${head.slice(0, 12)} accepted`,
    ]);
    expect(lines[4]!.outcome).toBe(`refused: token "ci" has role operator; EnrollNode needs admin`);
    for (const l of lines) expect(l.timeMs).toBeGreaterThanOrEqual(startedAt - 1_000);
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((a, b) => a - b));
    // The created token is shown once, by `token create`; never in an audit line.
    const text = JSON.stringify(lines);
    for (const value of [ciToken, h.coordinator.adminToken, "nkctl-audit-k3s-token"]) expect(text).not.toContain(value);
  });

  it("--token and --action filter, --tail bounds how far back it looks", async () => {
    expect((await audit("--token", "ci")).map(brief)).toEqual(["ci PauseRollout  ok", "ci EnrollNode n9 refused", expect.stringMatching(/^ci push refs\/heads\/main [0-9a-f]{12} accepted$/)]);
    expect((await audit("--action", "push")).map((l) => l.actor)).toEqual(["admin", "ci"]);
    expect(await audit("--token", "ci", "--action", "SetSecret")).toEqual([]);
    expect(await audit("--token", "nobody")).toEqual([]);
    // An action's audit line is stored before its answer: right after it, it is the log's last event.
    expect((await nkctl(["rollout", "resume"], ciFlags)).code).toBe(0);
    expect((await audit("--tail", "1")).map(brief)).toEqual(["ci ResumeRollout  ok"]);
    expect((await audit("--tail", "100000")).length).toBe((await audit()).length);
    const bad = await nkctl(["audit", "--tail", "lots"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("expected a whole number up to 100000");
  }, 120_000);

  it("prints a table for people, and says so when nothing matches", async () => {
    const table = await nkctl(["audit", "--token", "ci"]);
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^TIME\s+TOKEN\s+ACTION\s+TARGET\s+OUTCOME$/);
    expect(rows.slice(1)).toHaveLength((await audit("--token", "ci")).length);
    // An empty target shows as "-".
    expect(rows[1]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z\s+ci\s+PauseRollout\s+-\s+ok$/);
    const none = await nkctl(["audit", "--action", "RevokeToken"]);
    expect(none.stdout).toBe("no audit lines\n");
  });
});
