// Runs simulated-node agents as their own processes and plays their service manager: a simulated reboot
// or a self-update exits the agent, and the supervisor starts it again (after the reboot's delay).
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SIM_REBOOT_EXIT_CODE } from "../agent/src/system/index.js";

const RESTART_EXIT_CODE = 76;
const ROOT = new URL("..", import.meta.url).pathname;

export interface SimAgentSpec {
  readonly node: string;
  readonly coordinators: readonly string[];
  readonly caFile: string;
  readonly tokenFile: string;
  /** Holds the agent's state dir, the simulated NixOS and its log. */
  readonly dir: string;
  readonly timeScale?: number;
  readonly reportIntervalSeconds?: number;
  readonly logLevel?: string;
  /** The simulated LAN the machine is on (one per cluster), where the API VIP election is seen; default: alone. */
  readonly lanDir?: string;
  /** Builders mode: this node also builds (SimBuilder in <dir>/builder, signing as simPublicKey). */
  readonly builder?: { readonly simPublicKey: string };
}

export interface AgentExit {
  readonly node: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly restarting: boolean;
}

export class SimAgentProcess {
  private child: ChildProcess | null = null;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | null = null;
  /** How many times the process was started (reboots, restarts and kills included). */
  starts = 0;

  constructor(
    readonly spec: SimAgentSpec,
    private readonly options: { rebootDelayMs?: number; onExit?: (exit: AgentExit) => void; output?: "inherit" | "file" } = {},
  ) {}

  get configPath(): string {
    return join(this.spec.dir, "agent.json");
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await writeFile(
      this.configPath,
      JSON.stringify({
        node: this.spec.node,
        coordinators: this.spec.coordinators,
        caFile: this.spec.caFile,
        tokenFile: this.spec.tokenFile,
        stateDir: join(this.spec.dir, "state"),
        secretsDir: join(this.spec.dir, "secrets"),
        system: { kind: "sim", dir: join(this.spec.dir, "system"), timeScale: this.spec.timeScale ?? 1, ...(this.spec.lanDir ? { lanDir: this.spec.lanDir } : {}) },
        ...(this.spec.builder ? { builder: { keyFile: join(this.spec.dir, "builder.sk"), workDir: join(this.spec.dir, "builder"), simPublicKey: this.spec.builder.simPublicKey } } : {}),
        reportIntervalSeconds: this.spec.reportIntervalSeconds ?? 2,
        logLevel: this.spec.logLevel ?? "info",
      }),
    );
    this.spawn();
  }

  private spawn(): void {
    if (this.stopped) return;
    const log = join(this.spec.dir, "agent.log");
    const child = spawn(process.execPath, [join(ROOT, "bin/nk-agent.js"), "--config", this.configPath], {
      stdio: this.options.output === "inherit" ? "inherit" : ["ignore", "pipe", "pipe"],
    });
    if (this.options.output !== "inherit") {
      void import("node:fs").then(({ createWriteStream }) => {
        const out = createWriteStream(log, { flags: "a" });
        child.stdout?.pipe(out);
        child.stderr?.pipe(out);
      });
    }
    this.starts++;
    this.child = child;
    child.on("exit", (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      const restarting = !this.stopped && (code === SIM_REBOOT_EXIT_CODE || code === RESTART_EXIT_CODE || signal === "SIGKILL" || code !== 0);
      this.options.onExit?.({ node: this.spec.node, code, signal, restarting });
      if (!restarting) return;
      // A reboot takes a while; a crash or self-update restarts like systemd's Restart=always.
      const delay = code === SIM_REBOOT_EXIT_CODE ? (this.options.rebootDelayMs ?? 500) : 200;
      this.restartTimer = setTimeout(() => this.spawn(), delay);
    });
  }

  /** kill -9 now; the supervisor restarts it like systemd would. */
  kill(): void {
    this.child?.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }
}
