// Sends the inventory's command checks to chosen agents over their check streams and collects the answers.
import { randomUUID } from "node:crypto";
import type { ClusterCheck, Role } from "../../../shared/src/inventory/model.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import { silentLogger, type Logger } from "../../../shared/src/log/index.js";
import type { CheckDispatcher, CheckOutcome, CheckRequest } from "./check-dispatcher.js";
import { formatSeconds, type HealthTimers } from "./health-timers.js";

export interface DispatcherNode {
  readonly name: string;
  readonly role: Role;
}

export interface AgentCheckDispatcherDeps {
  /** Cluster checks of the adopted inventory: the only commands ever sent. */
  readonly checks: () => readonly ClusterCheck[];
  /** Nodes of the adopted inventory. */
  readonly nodes: () => readonly DispatcherNode[];
  readonly timers: HealthTimers;
  /** Node health verdict; healthy connected servers are preferred for any-server checks. */
  readonly isHealthy?: (node: string) => boolean;
  /** Extra wait beyond the check's own timeout for the answer to travel back. */
  readonly graceMs?: number;
  readonly newRequestId?: () => string;
  readonly log?: Logger;
}

interface Watcher {
  readonly listener: (request: CheckRequest) => void;
}

interface Pending {
  readonly node: string;
  readonly watcher: Watcher;
  /** `answered` is false when the node gave no answer (timeout, disconnect, send failure). */
  readonly finish: (ok: boolean, message: string, answered: boolean) => void;
}

export class AgentCheckDispatcher implements CheckDispatcher {
  private readonly watchers = new Map<string, Watcher>();
  private readonly pending = new Map<string, Pending>();
  /** Per check: the server that last answered (preferred next time) and the last one asked (for rotation). */
  private readonly lastAnswered = new Map<string, string>();
  private readonly lastAsked = new Map<string, string>();
  private readonly log: Logger;

  constructor(private readonly deps: AgentCheckDispatcherDeps) {
    this.log = deps.log ?? silentLogger();
  }

  watch(node: string, listener: (request: CheckRequest) => void): () => void {
    const watcher: Watcher = { listener };
    this.watchers.set(node, watcher);
    return () => {
      if (this.watchers.get(node) === watcher) this.watchers.delete(node);
      for (const p of [...this.pending.values()]) if (p.watcher === watcher) p.finish(false, `${node} disconnected before answering`, false);
    };
  }

  result(node: string, requestId: string, outcome: CheckOutcome): void {
    const p = this.pending.get(requestId);
    if (p === undefined || p.node !== node) {
      this.log.debug({ node, requestId }, "ignoring check result for a request not sent to this node");
      return;
    }
    p.finish(outcome.ok, outcome.message, true);
  }

  /** Nodes with an open check stream. */
  connected(): string[] {
    return [...this.watchers.keys()].sort();
  }

  /** Runs a command check of the adopted inventory by name; never throws, never runs anything else. */
  async run(checkName: string): Promise<CheckOutcome> {
    const check = this.deps.checks().find((c) => c.name === checkName);
    if (check === undefined) return this.outcome(checkName, false, `check ${checkName} is not in the adopted inventory`);
    if (check.spec.kind !== "command") return this.outcome(checkName, false, `check ${checkName} is not a command check`);
    const on = check.on;
    if (on === "any-server") return this.runAnyServer(check);
    const nodes = this.deps.nodes();
    const targets = typeof on === "object" ? [on.node] : nodes.filter((n) => on === "all" || n.role === "server").map((n) => n.name);
    if (typeof on === "object" && !nodes.some((n) => n.name === on.node)) return this.outcome(check.name, false, `node ${on.node} is not in the inventory`);
    if (targets.length === 0) return this.outcome(check.name, false, `no ${on === "all" ? "node" : "server"} in the inventory to run ${check.name}`);
    const answers = await Promise.all(targets.map((node) => this.ask(check, node)));
    const failed = answers.filter((a) => !a.ok);
    if (targets.length === 1) return answers[0] ?? this.outcome(check.name, false, "no answer");
    if (failed.length > 0) return this.outcome(check.name, false, failed.map((a) => a.message).join("; "));
    return this.outcome(check.name, true, `passed on ${targets.join(", ")}`);
  }

  /** Prefers the server that answered last time; otherwise rotates through healthy servers, then the others. */
  private async runAnyServer(check: ClusterCheck): Promise<CheckOutcome> {
    const isHealthy = this.deps.isHealthy ?? (() => true);
    const servers = this.deps.nodes().filter((n) => n.role === "server" && this.watchers.has(n.name)).map((n) => n.name).sort();
    const ordered = [...servers.filter((s) => isHealthy(s)), ...servers.filter((s) => !isHealthy(s))];
    if (ordered.length === 0) return this.outcome(check.name, false, `no server connected to run ${check.name}`);
    const preferred = this.lastAnswered.get(check.name);
    let node: string;
    if (preferred !== undefined && isHealthy(preferred) && servers.includes(preferred)) node = preferred;
    else node = ordered[(ordered.indexOf(this.lastAsked.get(check.name) ?? "") + 1) % ordered.length] ?? ordered[0]!;
    return this.ask(check, node);
  }

  private ask(check: ClusterCheck, node: string): Promise<CheckOutcome> {
    if (check.spec.kind !== "command") return Promise.resolve(this.outcome(check.name, false, `check ${check.name} is not a command check`));
    const watcher = this.watchers.get(node);
    if (watcher === undefined) return Promise.resolve(this.outcome(check.name, false, `${node} is not connected`));
    const timeoutMs = Math.round(check.timeoutSeconds * 1_000);
    const request: CheckRequest = {
      requestId: (this.deps.newRequestId ?? randomUUID)(),
      checkName: check.name,
      command: check.spec.command,
      expect: check.spec.expect,
      timeoutMs,
    };
    this.lastAsked.set(check.name, node);
    return new Promise((resolve) => {
      let done = false;
      const cancel = this.deps.timers.setTimeout(() => finish(false, `${node} did not answer within ${formatSeconds(timeoutMs)}`, false), timeoutMs + (this.deps.graceMs ?? 2_000));
      const finish = (ok: boolean, message: string, answered: boolean): void => {
        if (done) return;
        done = true;
        cancel();
        this.pending.delete(request.requestId);
        if (answered) this.lastAnswered.set(check.name, node);
        else if (this.lastAnswered.get(check.name) === node) this.lastAnswered.delete(check.name);
        resolve(this.outcome(check.name, ok, answered ? `${node}: ${message}` : message));
      };
      this.pending.set(request.requestId, { node, watcher, finish });
      try {
        watcher.listener(request);
      } catch (err) {
        finish(false, `could not send ${check.name} to ${node}: ${errorMessage(err)}`, false);
      }
    });
  }

  private outcome(name: string, ok: boolean, message: string): CheckOutcome {
    return { name, ok, message, observedAtMs: this.deps.timers.now() };
  }
}
