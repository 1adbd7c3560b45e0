// Simulated agents spread over several processes (the benchmark's --agent-processes): one process decoding every
// node's message stands in badly for a fleet whose agents each decode their own on their own machine.
import { fork, type ChildProcess } from "node:child_process";
import { askChild } from "./ask-child.js";
import type { FanoutAgentsOptions } from "./fanout-agents.js";
import type { ChildAnswer, ChildRequest } from "./fanout-agent-child.js";

export class FanoutAgentPool {
  private readonly children: ChildProcess[] = [];
  private latest: number[] = [];
  /** Each process's mean message size and how many nodes it holds, for the mean over all nodes. */
  private bytes: Array<{ mean: number; nodes: number }> = [];
  readonly errors: string[] = [];
  channelCount = 0;

  constructor(private readonly options: FanoutAgentsOptions, private readonly processes: number) {}

  /** Starts the processes (tsx's loader is inherited through execArgv), each with its share of the nodes. */
  async open(): Promise<void> {
    const { nodes } = this.options;
    const share = Math.ceil(nodes.length / this.processes);
    const opened = Array.from({ length: this.processes }, async (_, i) => {
      const child = fork(new URL("./fanout-agent-child.ts", import.meta.url), { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      this.children.push(child);
      const answer = await this.ask(child, { kind: "open", options: { ...this.options, nodes: nodes.slice(i * share, (i + 1) * share) } });
      if (answer.kind === "opened") this.channelCount += answer.channels;
    });
    await Promise.all(opened);
  }

  /** Resolves once every process saw every one of its nodes at `revision`. */
  async waitAll(revision: string, timeoutMs: number): Promise<void> {
    const answers = await Promise.all(this.children.map((c) => this.ask(c, { kind: "wait", revision, timeoutMs })));
    this.errors.splice(0, this.errors.length, ...answers.flatMap((a) => (a.kind === "opened" ? [] : a.errors)));
    const failed = answers.find((a) => a.kind === "failed");
    if (failed?.kind === "failed") throw new Error(failed.error);
    this.latest = answers.flatMap((a) => (a.kind === "arrived" ? a.arrivals : []));
    this.bytes = answers.flatMap((a) => (a.kind === "arrived" ? [{ mean: a.meanBytes, nodes: a.arrivals.length }] : []));
  }

  /** Arrival times (epoch ms, comparable across processes) of every node's latest message. */
  arrivals(): number[] {
    return this.latest;
  }

  meanMessageBytes(): number {
    const nodes = this.bytes.reduce((n, b) => n + b.nodes, 0);
    return this.bytes.reduce((sum, b) => sum + b.mean * b.nodes, 0) / Math.max(1, nodes);
  }

  close(): void {
    for (const child of this.children) if (child.connected) child.send({ kind: "close" } satisfies ChildRequest);
  }

  private ask(child: ChildProcess, req: ChildRequest): Promise<ChildAnswer> {
    return askChild<ChildRequest, ChildAnswer>(child, req, "agent process");
  }
}
