// nk/checks.json: the only commands an agent will run, its own node checks and the cluster checks it may be asked for.
import type { ClusterCheck, Inventory, NodeCheck, NodeSpec } from "../inventory/model.js";

export interface CheckCommand {
  readonly name: string;
  /** argv, never run through a shell. */
  readonly command: readonly string[];
  /** Substring stdout must contain; empty means exit status 0 suffices. */
  readonly expect: string;
  readonly timeoutSeconds: number;
}

export interface NodeChecksFile {
  /** Run by the agent after every activation on this node. */
  readonly node: readonly CheckCommand[];
  /** Cluster checks the coordinator may ask this node to run. */
  readonly cluster: readonly CheckCommand[];
}

/** Cluster command checks grouped by who may run them, computed once per cluster. */
export interface ClusterCheckIndex {
  readonly servers: readonly CheckCommand[];
  readonly agents: readonly CheckCommand[];
  readonly byNode: ReadonlyMap<string, readonly CheckCommand[]>;
}

function byName(a: CheckCommand, b: CheckCommand): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function fromNodeCheck(c: NodeCheck): CheckCommand {
  return { name: c.name, command: [...c.command], expect: c.expect, timeoutSeconds: c.timeoutSeconds };
}

export function indexClusterChecks(checks: readonly ClusterCheck[]): ClusterCheckIndex {
  const servers: CheckCommand[] = [];
  const agents: CheckCommand[] = [];
  const byNode = new Map<string, CheckCommand[]>();
  for (const check of checks) {
    // http and prometheus checks are run by the coordinator itself, never by an agent.
    if (check.spec.kind !== "command") continue;
    const cmd: CheckCommand = {
      name: check.name,
      command: [...check.spec.command],
      expect: check.spec.expect,
      timeoutSeconds: check.timeoutSeconds,
    };
    const on = check.on;
    if (typeof on === "object") {
      const list = byNode.get(on.node) ?? [];
      list.push(cmd);
      byNode.set(on.node, list);
    } else {
      servers.push(cmd);
      if (on === "all") agents.push(cmd);
    }
  }
  servers.sort(byName);
  agents.sort(byName);
  return { servers, agents, byNode };
}

export function checksForNode(index: ClusterCheckIndex, node: NodeSpec): NodeChecksFile {
  const base = node.role === "server" ? index.servers : index.agents;
  const own = index.byNode.get(node.name);
  const cluster = own ? [...base, ...own].sort(byName) : base;
  return { node: node.checks.map(fromNodeCheck).sort(byName), cluster };
}

/** JSON with object keys sorted at every level, 2-space indent and a trailing newline. */
export function canonicalJson(value: unknown): string {
  return `${JSON.stringify(value, (_key, v: unknown) => sortKeys(v), 2)}\n`;
}

function sortKeys(v: unknown): unknown {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v).sort()) out[key] = (v as Record<string, unknown>)[key];
  return out;
}

export function checksJson(file: NodeChecksFile): string {
  return canonicalJson(file);
}

/** The typed content of a node's nk/checks.json. */
export function nodeChecks(inventory: Inventory, node: NodeSpec): NodeChecksFile {
  return checksForNode(indexClusterChecks(inventory.cluster.rollout.checks), node);
}

/** The exact text of a node's nk/checks.json. */
export function nodeChecksJson(inventory: Inventory, node: NodeSpec): string {
  return checksJson(nodeChecks(inventory, node));
}
