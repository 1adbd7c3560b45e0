// The benchmark's cluster: a coordinator process with a one-node inventory, and one real agent process on
// SimSystem, restarted on simulated reboots like systemd would, started either through tsx or from a build.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { cp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { parseDocument } from "yaml";
import { AdminServiceClient, type EnrollNodeRequest, type EnrollNodeResponse, type GetStatusRequest, type GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { ApplyPhase } from "../../shared/src/proto/gen/nk/v1/common.js";
import { AUTH_HEADER, bearer } from "../../shared/src/wire/index.js";
import { SIM_REBOOT_EXIT_CODE } from "../../agent/src/system/index.js";
import { adminCall, EXAMPLE_DIR, eventually, REPO_ROOT } from "../../test/support/coordinator-harness.js";
import { CoordinatorProcess } from "../../test/support/coordinator-process.js";

const run = promisify(execFile);
const RESTART_EXIT_CODE = 76;
export const NODE = "n1";

export interface FootprintCoordinator {
  readonly address: string;
  readonly caFile: string;
  enroll(): Promise<string>;
  /** Resolves once the node runs its desired bundle, confirmed, with no lease held or queued. */
  converged(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the coordinator process and pushes the example inventory cut down to n1 (default rollout settings). */
export async function startCoordinator(workDir: string): Promise<FootprintCoordinator> {
  const coordinator = new CoordinatorProcess({ stateDir: join(workDir, "coordinator"), logFile: join(workDir, "coordinator.log"), config: { logLevel: "info" } });
  // Generous: the machine is often shared with other heavy jobs.
  await coordinator.start(120_000);
  const ca = await coordinator.caPem();
  const caFile = join(workDir, "ca.crt");
  await writeFile(caFile, ca);
  const client = new AdminServiceClient(coordinator.grpcAddress, credentials.createSsl(Buffer.from(ca)));
  const metadata = new Metadata();
  const token = await coordinator.adminToken();
  metadata.set(AUTH_HEADER, bearer(token));
  await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("k3s-secret-token-value") }, metadata);

  const checkout = join(workDir, "checkout");
  await cp(EXAMPLE_DIR, checkout, { recursive: true });
  await rm(join(checkout, "nodes"), { recursive: true, force: true });
  const inventory = parseDocument(await readFile(join(checkout, "inventory.yaml"), "utf8"));
  for (const n of ["n2", "n3", "n4", "n5"]) inventory.deleteIn(["nodes", n]);
  await writeFile(join(checkout, "inventory.yaml"), inventory.toString());
  const env = { ...process.env, GIT_SSL_CAINFO: undefined, GIT_TERMINAL_PROMPT: "0", GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "bench@example.invalid", GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "bench@example.invalid" };
  const git = (...args: string[]) => run("git", ["-c", "credential.helper=", ...args], { cwd: checkout, env });
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "one-node inventory");
  await git("-c", `http.sslCAInfo=${caFile}`, "push", "-q", `https://ops:${token}@127.0.0.1:${coordinator.httpPort}/git/inventory.git`, "main");

  const status = () => adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata);
  return {
    address: coordinator.grpcAddress,
    caFile,
    async enroll() {
      return (await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node: NODE }, metadata)).token;
    },
    async converged(timeoutMs) {
      await eventually(
        async () => {
          const s = await status();
          const n = s.nodes.find((x) => x.name === NODE);
          return n !== undefined && n.connected && n.desiredSha256 !== "" && n.appliedSha256 === n.desiredSha256 && n.phase === ApplyPhase.APPLY_PHASE_CONFIRMED && s.leases.length === 0;
        },
        timeoutMs,
        `${NODE} to converge`,
      );
    },
    async close() {
      client.close();
      await coordinator.stop();
    },
  };
}

/** "packaged": the build started like nixos-module/package.nix's nk-agent wrapper does, with these node flags. */
export type AgentMode = "tsx" | "built" | "packaged" | "before";

/** What nixos-module/package.nix passes to node for nk-agent (test/nix/flake.test.ts keeps the two equal). */
export const PACKAGED_AGENT_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1", "--lite-mode"];

export interface FootprintAgent {
  /** The agent process running now (a simulated reboot replaces it). */
  readonly pid: number | undefined;
  readonly starts: number;
  stop(): Promise<void>;
}

/**
 * One agent with production defaults (report every 30 s, log level info) on a fresh simulated machine.
 * `entry` is bin/nk-agent.js (tsx mode) or the compiled agent/src/cli.js (built mode).
 */
export async function startAgent(coordinator: FootprintCoordinator, dir: string, entry: string, nodeFlags: readonly string[] = []): Promise<FootprintAgent> {
  await mkdir(join(dir, "system"), { recursive: true });
  await writeFile(join(dir, "system", "commands.json"), JSON.stringify({ "ceph health": { stdout: "HEALTH_OK\n" } }));
  const tokenFile = join(dir, "token");
  await writeFile(tokenFile, `${await coordinator.enroll()}\n`, { mode: 0o600 });
  const config = join(dir, "agent.json");
  await writeFile(
    config,
    JSON.stringify({
      node: NODE,
      coordinators: [coordinator.address],
      caFile: coordinator.caFile,
      tokenFile,
      stateDir: join(dir, "state"),
      secretsDir: join(dir, "secrets"),
      system: { kind: "sim", dir: join(dir, "system"), timeScale: 0.05 },
    }),
  );
  const log = createWriteStream(join(dir, "agent.log"), { flags: "a" });
  let child: ChildProcess | null = null;
  let stopped = false;
  let starts = 0;
  const spawnAgent = (): void => {
    if (stopped) return;
    // NK_DIST_DIR (the coordinator's build) would make the tsx-mode launcher load that build instead.
    const env = { ...process.env, NK_DIST_DIR: undefined };
    const c = spawn(process.execPath, [...nodeFlags, entry, "--config", config], { stdio: ["ignore", "pipe", "pipe"], cwd: dir, env });
    c.stdout!.pipe(log, { end: false });
    c.stderr!.pipe(log, { end: false });
    starts++;
    child = c;
    c.on("exit", (code) => {
      if (child !== c) return;
      child = null;
      // A simulated reboot or a self-update: start again, as systemd would.
      if (!stopped && (code === SIM_REBOOT_EXIT_CODE || code === RESTART_EXIT_CODE)) setTimeout(spawnAgent, 300);
    });
  };
  spawnAgent();
  return {
    get pid() {
      return child?.pid;
    },
    get starts() {
      return starts;
    },
    async stop() {
      stopped = true;
      const c = child;
      if (c) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => c.kill("SIGKILL"), 5_000);
          c.once("exit", () => (clearTimeout(timer), resolve()));
          c.kill("SIGTERM");
        });
      }
      log.end();
    },
  };
}

/** The tsx-mode entry: the same launcher the package's `nk-agent` bin uses. */
export const TSX_ENTRY = join(REPO_ROOT, "bin/nk-agent.js");

/**
 * Compiles the daemons (tsconfig.build.json, as `npm run build` does) into `outDir` rather than ./dist, so
 * that other processes using this checkout keep running from sources; returns the agent's entry. `sourceRoot`
 * is the tree to build (an older commit's, for the "before" row); dependencies come from this checkout.
 */
export async function buildAgent(outDir: string, sourceRoot = REPO_ROOT): Promise<string> {
  await rm(outDir, { recursive: true, force: true });
  const tsc = join(REPO_ROOT, "node_modules/.bin/tsc");
  // Type errors elsewhere in a work tree still emit JavaScript; a missing entry below is what fails the run.
  await run(tsc, ["-p", join(sourceRoot, "tsconfig.build.json"), "--outDir", outDir], { cwd: sourceRoot }).catch((err: { stdout?: string }) => {
    process.stderr.write(`tsc reported problems (emitting anyway):\n${(err.stdout ?? "").split("\n").slice(0, 10).join("\n")}\n`);
  });
  // ESM like the repo, and the repo's node_modules for bare imports.
  await writeFile(join(outDir, "package.json"), JSON.stringify({ type: "module" }));
  await symlink(join(REPO_ROOT, "node_modules"), join(outDir, "node_modules"));
  // The coordinator reads the .proto files (server reflection) from a proto/ above its build, as in the package.
  await symlink(join(sourceRoot, "proto"), join(outDir, "proto"));
  const entry = join(outDir, "agent/src/cli.js");
  await readFile(entry);
  return entry;
}

/** The tree of commit `rev` of this repository, extracted into `dir` (with node_modules linked for tsc's types). */
export async function checkoutRevision(rev: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run("sh", ["-c", 'git -C "$1" archive "$2" | tar -x -C "$3"', "sh", REPO_ROOT, rev, dir]);
  await symlink(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
}

/** The node flags nixos-module/package.nix of the tree at `root` gives nk-agent (its `flags="..."` line). */
export async function packagedAgentFlags(root: string): Promise<string[]> {
  const nix = await readFile(join(root, "nixos-module/package.nix"), "utf8");
  const m = /if \[ "\$name" = nk-agent \]; then flags="([^"]*)"/.exec(nix);
  if (!m) throw new Error(`no nk-agent flags line in ${root}/nixos-module/package.nix`);
  return m[1]!.split(" ").filter((f) => f !== "");
}
