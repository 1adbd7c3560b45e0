// Runs a real single-member etcd (the Debian etcd-server binary) on 127.0.0.1 for tests: start, kill, restart, dispose.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { freePort } from "../support/free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ETCD_BINARY = process.env.NK_ETCD_BINARY ?? "/usr/bin/etcd";

/** Why etcd tests are skipped here, or undefined when the binary is present. */
export const etcdSkipReason: string | undefined = existsSync(ETCD_BINARY)
  ? undefined
  : `etcd tests skipped: ${ETCD_BINARY} not found (apt-get install etcd-server, or set NK_ETCD_BINARY)`;

export interface EtcdServer {
  /** http://127.0.0.1:<client port> */
  endpoint: string;
  dataDir: string;
  /** Graceful stop (SIGTERM); the data dir is kept. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash; the data dir is kept. */
  kill(): Promise<void>;
  /** Stops if running, then starts again on the same ports and data dir and waits until healthy. */
  restart(): Promise<void>;
  /** Stops and removes the data dir. */
  dispose(): Promise<void>;
}

const HEALTHY_WITHIN_MS = 15_000;
const STOP_WITHIN_MS = 5_000;

export async function waitHealthy(endpoint: string, child: ChildProcess, stderr: () => string, withinMs = HEALTHY_WITHIN_MS): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`etcd exited during startup (${child.exitCode ?? child.signalCode}):\n${stderr()}`);
    try {
      const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === "true") return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd at ${endpoint} not healthy within ${withinMs} ms:\n${stderr()}`);
}

export async function waitExit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_WITHIN_MS);
  await exited;
  clearTimeout(timer);
}

function etcdArgs(dataDir: string, endpoint: string, peer: string): string[] {
  return [
    "--name", "default",
    "--data-dir", dataDir,
    "--listen-client-urls", endpoint,
    "--advertise-client-urls", endpoint,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `default=${peer}`,
    // A lone member elects itself after one election timeout: keep startup and restarts quick.
    "--heartbeat-interval", "20",
    "--election-timeout", "200",
    "--logger", "zap",
    "--log-level", "error",
  ];
}

/** One etcd process; throws (after killing it) if it does not become healthy. */
export async function launch(args: string[], endpoint: string, healthyWithinMs = HEALTHY_WITHIN_MS): Promise<ChildProcess> {
  let stderrTail = "";
  const proc = spawn(ETCD_BINARY, args, { stdio: ["ignore", "ignore", "pipe"] });
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4_000);
  });
  try {
    await waitHealthy(endpoint, proc, () => stderrTail, healthyWithinMs);
    return proc;
  } catch (err) {
    await waitExit(proc, "SIGKILL");
    throw err;
  }
}

/** Starts etcd on free 127.0.0.1 ports with a fresh data dir and waits until it is healthy. */
export async function startEtcd(): Promise<EtcdServer> {
  if (etcdSkipReason) throw new Error(etcdSkipReason);
  const dataDir = await mkdtemp(join(tmpdir(), "nk-etcd-"));
  let child: ChildProcess | undefined;
  let args: string[] = [];
  let endpoint = "";
  // A port freed by freePort() can be taken by someone else before etcd binds it: try other ports.
  for (let attempt = 1; !child; attempt++) {
    const clientPort = await freePort();
    let peerPort = await freePort();
    while (peerPort === clientPort) peerPort = await freePort();
    endpoint = `http://127.0.0.1:${clientPort}`;
    args = etcdArgs(dataDir, endpoint, `http://127.0.0.1:${peerPort}`);
    try {
      child = await launch(args, endpoint);
    } catch (err) {
      if (attempt < 3 && String(err).includes("address already in use")) continue;
      await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
  }
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    if (child) await waitExit(child, signal);
    child = undefined;
  };
  return {
    endpoint,
    dataDir,
    stop: () => stopWith("SIGTERM"),
    kill: () => stopWith("SIGKILL"),
    restart: async () => {
      await stopWith("SIGTERM");
      child = await launch(args, endpoint);
    },
    dispose: async () => {
      await stopWith("SIGTERM");
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
