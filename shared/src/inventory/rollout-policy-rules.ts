// Cross-node rules of the rollout policy: pools and per-label limits that select no node are mistakes.
import type { NodeSpec, RolloutSettings } from "./model.js";
import { poolMembers } from "./pool-members.js";
import type { YamlReader } from "./yaml-reader.js";

export function checkRolloutPolicy(r: YamlReader, rollout: RolloutSettings, nodes: readonly NodeSpec[]): void {
  const labels = new Map(nodes.map((n) => [n.name, n.labels]));
  for (const pool of rollout.pools) {
    const path = r.origins.get(pool) ?? "cluster.rollout.pools";
    if (nodes.length === 0 || poolMembers(pool, labels).length > 0) continue;
    const selector = Object.entries(pool.selector).map(([k, v]) => `${k}=${v}`).join(", ");
    const pos = r.positions.get(`${path}.selector`) ?? r.positions.get(path) ?? { line: 1, col: 1 };
    r.report(pos, `${path}.selector`, `pool ${pool.name} selects no node (no node has the labels ${selector}): check the labels under nodes.<name>.labels`, "warning");
  }
  const canary = rollout.canary;
  canary?.nodes.forEach((name, i) => {
    if (nodes.some((n) => n.name === name)) return;
    const path = `cluster.rollout.canary.nodes[${i}]`;
    r.report(r.positions.get(path) ?? r.positions.get("cluster.rollout.canary") ?? { line: 1, col: 1 }, path, `"${name}" is not a node of this inventory`);
  });
  const per = rollout.maxUnavailablePer;
  if (per && nodes.length > 0 && !nodes.some((n) => per.label in n.labels)) {
    const pos = r.positions.get("cluster.rollout.max_unavailable_per") ?? { line: 1, col: 1 };
    r.report(pos, "cluster.rollout.max_unavailable_per", `no node has the label "${per.label}", so this limits nothing: add it under nodes.<name>.labels`, "warning");
  }
}
