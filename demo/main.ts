// The demo cluster: a real coordinator plus N simulated NixOS nodes, each agent its own process.
// Edit .nk-demo/inventory/inventory.yaml, git push, and watch a rolling reboot on the status page.
import { execFile } from "node:child_process";
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { Command } from "commander";
import { parseDocument } from "yaml";
import { createLogger } from "../shared/src/log/index.js";
import { AdminServiceClient, type WatchEventsResponse } from "../shared/src/proto/gen/nk/v1/admin.js";
import { AUTH_HEADER, bearer, dropIpServernameWarning } from "../shared/src/wire/index.js";
import { coordinatorConfigSchema } from "../coordinator/src/config/index.js";
import { FakeKubeApiserver } from "../coordinator/src/kube/fake-kube-apiserver.js";
import { startCoordinator } from "../coordinator/src/main.js";
import { SimAgentProcess } from "./agent-supervisor.js";
import { freeOr } from "./ports.js";

const run = promisify(execFile);
const ROOT = new URL("..", import.meta.url).pathname;
const NAMES = ["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"];

/** The example's programs, as a healthy simulated node answers them. */
const SIMULATED_PROGRAMS = { "ceph health": { stdout: "HEALTH_OK\n" }, "test -e /dev/sda": { stdout: "" } };

interface Options {
  nodes: string;
  stateDir: string;
  timeScale: string;
  keep?: boolean;
}

function unary<Res>(call: (md: Metadata, cb: (err: Error | null, res: Res) => void) => unknown, md: Metadata): Promise<Res> {
  return new Promise((ok, fail) => call(md, (err, res) => (err ? fail(err) : ok(res))));
}

async function main(): Promise<void> {
  dropIpServernameWarning();
  const opts = new Command("npm run demo --")
    .option("--nodes <n>", "number of simulated nodes (1-9)", "5")
    .option("--state-dir <dir>", "where the demo keeps everything", ".nk-demo")
    .option("--time-scale <x>", "simulated build/reboot speed (1 = a few seconds each)", "0.3")
    .option("--keep", "keep the previous demo state instead of starting fresh")
    .parse(process.argv)
    .opts<Options>();
  const count = Math.min(Math.max(Number(opts.nodes) || 5, 1), NAMES.length);
  const nodes = NAMES.slice(0, count);
  const dir = resolve(opts.stateDir);
  if (!opts.keep) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  // The only stand-in: no kube-apiserver can run here, so a simulated one (the tests' fake, with server-side
  // apply) shows cordon/drain/uncordon and the manifests the coordinator applies and prunes.
  const kube = await FakeKubeApiserver.start();
  for (const node of nodes) kube.setNode({ name: node, ready: true });
  await writeFile(join(dir, "kubeconfig"), kube.kubeconfigYaml());

  const log = createLogger({ name: "nk-coordinator", level: "info", destination: (await import("node:fs")).createWriteStream(join(dir, "coordinator.log"), { flags: "a" }) });
  const [grpcPort, httpPort] = [await freeOr(7443), await freeOr(7080)];
  const config = coordinatorConfigSchema.parse({
    stateDir: join(dir, "coordinator"),
    grpc: { listen: `127.0.0.1:${grpcPort}` },
    http: { listen: `127.0.0.1:${httpPort}` },
    kubeconfigFile: join(dir, "kubeconfig"),
    heartbeatSeconds: 2,
    healthCheckIntervalSeconds: 2,
  });
  const coordinator = await startCoordinator(config, { log });
  const caFile = join(config.stateDir, "tls", "ca.crt");
  const tokenFile = join(config.stateDir, "admin.token");

  const admin = new AdminServiceClient(`127.0.0.1:${grpcPort}`, credentials.createSsl(Buffer.from(coordinator.caPem)));
  const md = new Metadata();
  md.set(AUTH_HEADER, bearer(coordinator.adminToken));
  await unary((m, cb) => admin.setSecret({ name: "k3s-token", value: Buffer.from(`demo-${Date.now().toString(36)}`) }, m, cb), md);

  // The operator's checkout: the example inventory, trimmed to the demo's nodes, pushed like a user would.
  const checkout = join(dir, "inventory");
  const gitUrl = `https://ops:${coordinator.adminToken}@127.0.0.1:${httpPort}/git/inventory.git`;
  // GIT_SSL_CAINFO, if the environment has one, would override the checkout's http.sslCAInfo.
  const gitEnv = { ...process.env, GIT_SSL_CAINFO: undefined };
  const git = (...args: string[]) => run("git", ["-c", "credential.helper=", "-c", "user.name=demo", "-c", "user.email=demo@nk.invalid", ...args], { cwd: checkout, env: gitEnv });
  if (!opts.keep || !(await readFile(join(checkout, "inventory.yaml"), "utf8").catch(() => null))) {
    await rm(checkout, { recursive: true, force: true });
    await cp(join(ROOT, "examples/homelab"), checkout, { recursive: true });
    const doc = parseDocument(await readFile(join(checkout, "inventory.yaml"), "utf8"));
    for (const name of NAMES.slice(count)) {
      doc.deleteIn(["nodes", name]);
      await rm(join(checkout, "nodes", `${name}.nix`), { force: true });
    }
    doc.setIn(["cluster", "rollout", "health_deadline_seconds"], 60);
    await writeFile(join(checkout, "inventory.yaml"), doc.toString());
    await git("init", "-q", "-b", "main");
    await git("remote", "add", "nk", gitUrl);
    await git("config", "http.sslCAInfo", caFile);
    await git("add", "-A");
    await git("commit", "-q", "-m", "demo: example inventory");
  } else {
    await git("remote", "set-url", "nk", gitUrl);
    await git("config", "http.sslCAInfo", caFile);
  }
  await git("push", "-q", "--force", "nk", "main");

  const agents: SimAgentProcess[] = [];
  for (const node of nodes) {
    const nodeDir = join(dir, "nodes", node);
    await mkdir(join(nodeDir, "system"), { recursive: true });
    await writeFile(join(nodeDir, "system", "commands.json"), JSON.stringify(SIMULATED_PROGRAMS));
    const { token } = await unary<{ token: string }>((m, cb) => admin.enrollNode({ node }, m, cb), md);
    await writeFile(join(nodeDir, "token"), `${token}\n`, { mode: 0o600 });
    const agent = new SimAgentProcess(
      { node, coordinators: [`127.0.0.1:${grpcPort}`], caFile, tokenFile: join(nodeDir, "token"), dir: nodeDir, timeScale: Number(opts.timeScale) || 0.3, reportIntervalSeconds: 2 },
      { rebootDelayMs: 1500 },
    );
    await agent.start();
    agents.push(agent);
  }

  const rel = (p: string) => p.replace(`${process.cwd()}/`, "");
  // git lets GIT_SSL_CAINFO override http.sslCAInfo, so a shell that exports it cannot reach the demo's HTTPS.
  const caOverride = process.env.GIT_SSL_CAINFO
    ? `\n  Note          your shell sets GIT_SSL_CAINFO=${process.env.GIT_SSL_CAINFO}, which overrides http.sslCAInfo:\n                run git as \`env -u GIT_SSL_CAINFO git push nk main\` (or unset it) for the demo's remote\n`
    : "";
  process.stdout.write(`
nk demo: a coordinator and ${count} simulated NixOS nodes (each agent is its own process).

  Status page   https://127.0.0.1:${httpPort}/  (HTTPS signed by the coordinator's own CA, ${rel(caFile)}:
                import it into your browser, or accept the warning once)
  Git remote    ${rel(checkout)}  (remote "nk" = https://127.0.0.1:${httpPort}/git/inventory.git, http.sslCAInfo set)
  Admin token   ${rel(tokenFile)}
  CA            ${rel(caFile)}
  Clone it elsewhere (token as the password when git asks):
    git -c http.sslCAInfo=${caFile} clone https://ops@127.0.0.1:${httpPort}/git/inventory.git
  Logs          ${rel(join(dir, "coordinator.log"))}, ${rel(join(dir, "nodes"))}/<node>/agent.log${caOverride}

Try a rolling reboot (a nixpkgs bump needs a new kernel on every node):
  cd ${rel(checkout)} && sed -i 's/nixos-24.11/nixos-25.05/' inventory.yaml && git commit -qam "bump nixpkgs" && git push nk main
and watch it with nkctl in another terminal:
  export NK_COORDINATOR=127.0.0.1:${grpcPort} NK_CA_FILE=${caFile} NK_TOKEN_FILE=${tokenFile}
  node bin/nkctl.js lease list     (also: status, nodes, events -f)

Kubernetes objects in manifests/ are applied by the coordinator and pruned when removed (no reboot):
  cd ${rel(checkout)} && printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: demo, namespace: hello }\ndata: { a: b }\n' > manifests/demo.yaml && git add -A && git commit -qm demo && git push nk main
  node bin/nkctl.js manifests status     (-o json; also: manifests diff, manifests apply)

Ctrl-C stops everything.
\n`);

  const events = admin.watchEvents({ afterSeq: 0, tail: 0, follow: true }, md);
  events.on("data", (m: WatchEventsResponse) => {
    const e = m.event;
    if (!e || !/^(revision|lease-granted|lease-released|rollout|push-rejected|node-failed|manifests-)/.test(e.kind)) return;
    process.stdout.write(`${new Date(e.timeMs).toISOString().slice(11, 19)}  ${e.kind.padEnd(18)} ${e.node ? `${e.node}: ` : ""}${e.message}\n`);
  });
  events.on("error", () => undefined);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping the demo...\n");
    events.cancel();
    await Promise.all(agents.map((a) => a.stop()));
    admin.close();
    await coordinator.stop();
    await kube.close();
    process.stdout.write(`stopped. State kept in ${rel(dir)} (npm run demo -- --keep resumes it).\n`);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
