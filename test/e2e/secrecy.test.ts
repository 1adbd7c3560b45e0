// E2E secrecy: a coordinator process with an agent process, the bootstrap admin token, the node's token, scoped
// operator and viewer tokens and two secrets; a push by the operator token and the reboot it starts (a lease, a
// drain, a reboot, verify, release). Then every place an operator or a scraper can read is grepped for every token
// and secret value (also base64, as in a Basic header): the coordinator's and agents' logs, the status page, /metrics,
// the JSON API's answers, the audit log and event log. None may appear.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caFetch } from "../support/ca-fetch.js";
import { startProcessCluster, type ProcessSimCluster } from "../support/sim-cluster-process.js";

const run = promisify(execFile);
const NODES = ["n1"];

describe("no token or secret value leaks", () => {
  let c: ProcessSimCluster;
  /** Every value that must stay secret, by what it is. */
  const secrets = new Map<string, string>();
  /** What an operator or a scraper can read, by where it came from. */
  const readable = new Map<string, string>();
  let fetch: (path: string, headers?: Record<string, string>, method?: string) => Promise<string>;
  let ciFile = "";

  const nkctlOk = async (args: string[], options: { stdin?: string; tokenFile?: string } = {}): Promise<string> => {
    const r = await c.nkctl(args, options);
    expect(r.code, `nkctl ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    // Agents start only after the operator's push, so that push is what they roll out (one reboot each, under a lease).
    c = await startProcessCluster({ nodes: NODES, launch: false, coordinatorConfig: { logLevel: "debug" } });
    secrets.set("admin token", await c.coordinator.adminToken());
    for (const n of NODES) secrets.set(`${n}'s node token`, (await readFile(join(c.workDir, "nodes", n, "token"), "utf8")).trim());
    secrets.set("k3s-token secret", "k3s-secret-token-value");
    const get = caFetch(await c.coordinator.caPem());
    fetch = async (path, headers = {}, method = "GET") => {
      const res = await get(`${c.coordinator.httpUrl}${path}`, { method, headers });
      expect(res.status, `${method} ${path}`).toBeLessThan(300);
      return res.text();
    };

    // Scoped tokens (their values are printed once, by `token create`, and go nowhere else) and a second secret.
    for (const [role, name] of [["operator", "ci"], ["viewer", "wall"]] as const) {
      const created = JSON.parse(await nkctlOk(["-o", "json", "token", "create", "--role", role, "--name", name])) as { token: string };
      secrets.set(`${role} token ${name}`, created.token);
    }
    ciFile = join(c.workDir, "ci.token");
    await writeFile(ciFile, `${secrets.get("operator token ci")}\n`, { mode: 0o600 });
    const backup = `backup-${randomBytes(18).toString("base64url")}`;
    secrets.set("backup secret", backup);
    await nkctlOk(["secret", "set", "backup-passphrase"], { stdin: `${backup}\n` });

    // The operator token pushes the inventory; the agents install it: each takes a lease, drains, reboots, verifies
    // and releases, and fetches the k3s-token secret.
    const checkout = join(c.workDir, "checkout");
    const git = (...args: string[]) => run("git", ["-c", "credential.helper=", ...args], { cwd: checkout, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
    await git("add", "-A");
    await git("-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "commit", "-q", "-m", "inventory, pushed by ci");
    const pushed = await git("push", "-q", `https://ci:${secrets.get("operator token ci")}@127.0.0.1:${c.coordinator.httpPort}/git/inventory.git`, "main");
    readable.set("git push output", pushed.stdout + pushed.stderr);
    // Before the agents start, the operator pauses and resumes over HTTP (answers kept).
    const ci = { authorization: `Bearer ${secrets.get("operator token ci")}`, "content-type": "application/json" };
    readable.set("HTTP pause answer", await (await get(`${c.coordinator.httpUrl}/api/v1/rollout/pause`, { method: "POST", headers: ci, body: JSON.stringify({ reason: "look first" }) })).text());
    readable.set("HTTP resume answer", await (await get(`${c.coordinator.httpUrl}/api/v1/rollout/resume`, { method: "POST", headers: { authorization: ci.authorization } })).text());
    await Promise.all(NODES.map((n) => c.agents.get(n)!.start()));
    const converged = await c.converged(400_000);
    readable.set("nkctl lease list", await nkctlOk(["-o", "json", "lease", "list"], { tokenFile: ciFile }));
    const head = (await git("rev-parse", "HEAD")).stdout.trim();
    for (const n of converged.nodes) expect(n.appliedRevision, n.name).toBe(head);
  }, 600_000);

  afterAll(async () => {
    await c?.close();
  });

  it("the run did what it should: the operator's push was rolled out under a lease, and audited by name", async () => {
    const events = (await c.events()).filter((e) => e.node === "n1");
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(["lease-granted", "lease-released"]));
    const audit = JSON.parse(await nkctlOk(["-o", "json", "audit"])) as { audit: Array<{ actor: string; action: string; target: string; outcome: string }> };
    const lines = audit.audit.map((l) => `${l.actor} ${l.action} ${l.target.split(" ")[0]} ${l.outcome.split(":")[0]}`);
    expect(lines).toEqual(
      expect.arrayContaining(["admin SetSecret k3s-token ok", "admin CreateToken ci ok", "admin CreateToken wall ok", "admin SetSecret backup-passphrase ok", "ci push refs/heads/main accepted", "ci POST /api/v1/rollout/pause  ok", "ci POST /api/v1/rollout/resume  ok"]),
    );
  });

  it("no token or secret value appears in the logs, the status page, /metrics, the JSON API or the audit and event logs", async () => {
    const viewer = { authorization: `Bearer ${secrets.get("viewer token wall")}` };
    readable.set("coordinator log", await readFile(join(c.workDir, "coordinator.log"), "utf8"));
    for (const n of NODES) readable.set(`${n}'s agent log`, await readFile(join(c.workDir, "nodes", n, "agent.log"), "utf8"));
    readable.set("status page", await fetch("/"));
    readable.set("status page (viewer token)", await fetch("/", viewer));
    readable.set("/metrics", await fetch("/metrics"));
    for (const path of ["/api/v1/status", "/api/v1/nodes", "/api/v1/nodes/n1", "/api/v1/leases", "/api/v1/events?limit=1000", "/api/v1/openapi.json"]) readable.set(path, await fetch(path, viewer));
    readable.set("nkctl audit", await nkctlOk(["-o", "json", "audit"]));
    readable.set("nkctl events", await nkctlOk(["-o", "json", "events", "--tail", "100000"]));
    readable.set("nkctl secret list", await nkctlOk(["-o", "json", "secret", "list"]));
    readable.set("nkctl token list", await nkctlOk(["-o", "json", "token", "list"]));
    readable.set("nkctl status", await nkctlOk(["-o", "json", "status"], { tokenFile: ciFile }));

    // What was grepped is the real thing, not an empty page: each source shows the run.
    expect(readable.get("coordinator log")).toContain('"msg":"lease granted"');
    expect(readable.get("coordinator log")).toContain('"msg":"secrets fetched"');
    for (const n of NODES) expect(readable.get(`${n}'s agent log`)).toContain('"msg":"apply phase"');
    expect(readable.get("status page")).toContain("n1");
    expect(readable.get("/metrics")).toMatch(/^nk_/m);
    expect(readable.get("nkctl audit")).toContain('"actor": "ci"');
    expect(readable.get("nkctl secret list")).toContain("backup-passphrase");
    expect(readable.get("nkctl token list")).toContain("wall");

    const leaks: string[] = [];
    for (const [what, value] of secrets) {
      const forms = [value, Buffer.from(value).toString("base64"), Buffer.from(`ci:${value}`).toString("base64")];
      for (const [where, text] of readable) if (forms.some((f) => text.includes(f))) leaks.push(`${what} in ${where}`);
    }
    expect(leaks).toEqual([]);
    expect(readable.size).toBeGreaterThanOrEqual(20);
  }, 120_000);
});
