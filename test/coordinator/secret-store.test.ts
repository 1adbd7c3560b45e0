// Integration: a secret set with the real nkctl reaches only its agents and appears in no repo, log, page, API, bundle or state file.
import { execFile, spawn } from "node:child_process";
import { cp, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../shared/src/log/index.js";
import type { EnrollNodeRequest, EnrollNodeResponse, RenderRequest, RenderResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AdminServiceClient } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AUTH_HEADER, bearer, type DesiredBundle } from "../../shared/src/wire/index.js";
import { credentials, Metadata } from "@grpc/grpc-js";
import { CoordinatorClient } from "../../agent/src/client/index.js";
import { coordinatorConfigSchema } from "../../coordinator/src/config/index.js";
import { NO_KUBE_WARNING } from "../../coordinator/src/kube/index.js";
import { startCoordinator, type RunningCoordinator } from "../../coordinator/src/main.js";
import { caFetch } from "../support/ca-fetch.js";
import { adminCall } from "../support/admin-call.js";
import { eventually } from "../support/eventually.js";
import { EXAMPLE_DIR, REPO_ROOT } from "../support/repo-root.js";
import { cliEnv } from "../support/cli-env.js";

const run = promisify(execFile);
// Distinctive, so any copy of it (raw, base64, hex) is found wherever it lands.
const SECRET = "k3s-Zq8vN2xW5rT1yLp0-SuperSecretJoinToken";
const SIZE = Buffer.byteLength(SECRET);
const FORMS = [SECRET, Buffer.from(SECRET).toString("base64"), Buffer.from(SECRET).toString("hex"), Buffer.from(SECRET).toString("base64url")];

function expectNoSecret(where: string, text: string | Buffer): void {
  const s = typeof text === "string" ? text : text.toString("latin1");
  for (const form of FORMS) expect(s.includes(form), `${where} contains the secret (${form.slice(0, 8)}…)`).toBe(false);
}

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe("secret store", () => {
  let work = "";
  let coordinator: RunningCoordinator;
  let checkout = "";
  const logChunks: Buffer[] = [];
  const bundles: DesiredBundle[] = [];
  const clients: Array<{ close(): void }> = [];
  let nkctlEnv: NodeJS.ProcessEnv;
  let connection: string[] = [];

  const nkctl = (args: string[], stdin?: string): Promise<CliResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, "bin/nkctl.js"), ...connection, ...args], { env: nkctlEnv, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin ?? "");
    });
  const git = (...args: string[]) =>
    run("git", ["-c", "credential.helper=", ...args], {
      cwd: checkout,
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_AUTHOR_NAME: "ops", GIT_AUTHOR_EMAIL: "ops@example.invalid", GIT_COMMITTER_NAME: "ops", GIT_COMMITTER_EMAIL: "ops@example.invalid" },
      maxBuffer: 64 * 1024 * 1024,
    });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "nk-secrets-"));
    const stateDir = join(work, "state");
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logChunks.push(Buffer.from(chunk));
        cb();
      },
    });
    const config = coordinatorConfigSchema.parse({ stateDir, grpc: { listen: "127.0.0.1:0" }, http: { listen: "127.0.0.1:0" }, kube: "none", logLevel: "debug" });
    coordinator = await startCoordinator(config, { log: createLogger({ name: "nk-coordinator", level: "debug", destination: sink }) });
    nkctlEnv = cliEnv(work);
    connection = ["--coordinator", `127.0.0.1:${coordinator.grpcPort}`, "--ca-file", join(stateDir, "tls", "ca.crt"), "--token-file", join(stateDir, "admin.token")];
    checkout = join(work, "checkout");
    await cp(EXAMPLE_DIR, checkout, { recursive: true });
    await git("init", "-q", "-b", "main");
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await coordinator?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("says at start, as a warning, that it runs without Kubernetes (kube: none)", () => {
    const lines = Buffer.concat(logChunks).toString("utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines.filter((l) => l.msg === NO_KUBE_WARNING).map((l) => l.level)).toEqual([40]);
  });

  it("nkctl secret set reads the value from stdin; secret list shows name and size only", async () => {
    const set = await nkctl(["secret", "set", "k3s-token"], `${SECRET}\n`);
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    expect(set.stdout).toBe(`secret k3s-token set (${SECRET.length} bytes)\n`);
    const list = await nkctl(["-o", "json", "secret", "list"]);
    expect(list.code, list.stderr).toBe(0);
    const json = JSON.parse(list.stdout) as { secrets: Array<{ name: string; sizeBytes: number; updatedAtMs: number }> };
    expect(json.secrets.map((s) => [s.name, s.sizeBytes])).toEqual([["k3s-token", SECRET.length]]);
    expect(Math.abs(json.secrets[0]!.updatedAtMs - Date.now())).toBeLessThan(60_000);
    const table = await nkctl(["secret", "list"]);
    expect(table.stdout).toMatch(/^NAME\s+SIZE\s+UPDATED\n/);
    expect(table.stdout).toMatch(new RegExp(`k3s-token\\s+${SECRET.length} B`));
    for (const r of [set, list, table]) expectNoSecret("nkctl output", r.stdout + r.stderr);
    // Empty values and names outside the rules are refused before anything is sent.
    const empty = await nkctl(["secret", "set", "empty"], "");
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("refusing to set empty to an empty value");
  });

  it("only the nodes that reference it can fetch it, and its bundle carries only its name", async () => {
    await git("add", "-A");
    await git("commit", "-q", "-m", "initial inventory");
    await git("-c", `http.sslCAInfo=${join(coordinator.stateDir, "tls", "ca.crt")}`, "push", "-q", `https://ops:${coordinator.adminToken}@${coordinator.httpUrl.slice("https://".length)}/git/inventory.git`, "main");
    const admin = new AdminServiceClient(`127.0.0.1:${coordinator.grpcPort}`, credentials.createSsl(Buffer.from(coordinator.caPem)));
    clients.push(admin);
    const md = new Metadata();
    md.set(AUTH_HEADER, bearer(coordinator.adminToken));
    for (const node of ["n1", "n4"]) {
      const { token } = await adminCall<EnrollNodeRequest, EnrollNodeResponse>(admin.enrollNode.bind(admin), { node }, md);
      const agent = new CoordinatorClient({ addresses: [`127.0.0.1:${coordinator.grpcPort}`], node, token, ca: coordinator.caPem });
      clients.push(agent);
      await agent.hello({ agentVersion: "test", bootId: "b", bootedSystem: "", currentSystem: "", systemInfo: undefined, phase: 0, appliedRevision: "", appliedSha256: "", heldFencingToken: 0 });
      const stream = agent.watchDesired("");
      stream.on("data", (b) => bundles.push(b));
      stream.on("error", () => undefined);
      const secrets = await agent.fetchSecrets([]);
      expect([...secrets].map(([k, v]) => [k, v.toString()])).toEqual([["k3s-token", SECRET]]);
    }
    await eventually(() => bundles.length === 2 || undefined, 5_000, "two bundles");
    for (const b of bundles) {
      expect(b.secretNames).toEqual(["k3s-token"]);
      expectNoSecret(`bundle of ${b.node}`, JSON.stringify(b));
      // The bundle points at a file outside the Nix store, written by the agent from FetchSecrets.
      expect(b.files.map((f) => f.content).join("\n")).toMatch(/tokenFile/);
    }
    const rendered = await adminCall<RenderRequest, RenderResponse>(admin.render.bind(admin), { revision: "", node: "" }, md);
    expect(rendered.bundles).toHaveLength(5);
    for (const b of rendered.bundles) for (const f of b.files) expectNoSecret(`render ${b.node}/${f.path}`, Buffer.from(f.content));
  });

  it("appears in no HTTP page or API, no log line, no repo object, state.json or events.jsonl", async () => {
    const auth = { authorization: `Bearer ${coordinator.adminToken}` };
    for (const path of ["/", "/metrics", "/healthz", "/api/v1/status", "/api/v1/nodes", "/api/v1/nodes/n1", "/api/v1/leases", "/api/v1/events?limit=1000"]) {
      const res = await caFetch(coordinator.caPem)(coordinator.httpUrl + path, { headers: auth });
      expect(res.status, path).toBe(200);
      expectNoSecret(path, await res.text());
    }
    const log = Buffer.concat(logChunks).toString();
    // The log (captured at debug level) mentions the secret's handling, never its value.
    expect(log).toContain(`"secretName":"k3s-token","bytes":${SIZE},"msg":"secret set"`);
    expect(log).toContain('"names":["k3s-token"],"msg":"secrets fetched"');
    expectNoSecret("coordinator log", log);

    const stateDir = coordinator.stateDir;
    const objects = await run("git", ["--git-dir", join(stateDir, "repo", "inventory.git"), "cat-file", "--batch-all-objects", "--batch"], { maxBuffer: 64 * 1024 * 1024, encoding: "buffer" });
    // Every object, decompressed: the pushed inventory names the secret but never holds it.
    expect(objects.stdout.toString()).toContain("token_secret: k3s-token");
    expectNoSecret("git objects", objects.stdout);
    const files = (await readdir(stateDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    expect(files.map((f) => f.slice(stateDir.length + 1))).toEqual(expect.arrayContaining(["state.json", "events.jsonl", "secrets.json"]));
    for (const file of files) {
      if (file.endsWith("/secrets.json")) continue;
      expectNoSecret(file, await readFile(file));
    }
    // secrets.json holds it (encoded), readable by the coordinator's user only.
    const secretsFile = join(stateDir, "secrets.json");
    expect((await readFile(secretsFile, "utf8")).includes(Buffer.from(SECRET).toString("base64"))).toBe(true);
    const { stat } = await import("node:fs/promises");
    expect((await stat(secretsFile)).mode & 0o077).toBe(0);
  });
});
