// Adapters that give the lease manager its view of settings, node health and cluster checks.
import type { Inventory, Role } from "../../../shared/src/inventory/index.js";
import type { ChangeSignal, NodeRegistry } from "../fleet/index.js";
import type { ClusterHealth, NodeHealth } from "../health/index.js";
import type { DesiredCatalog } from "../inventory/index.js";
import type { ClusterCheckSource, K3sVersionSource, LeaseSettings, LeaseSettingsSource, NodeHealthSource } from "../lease/index.js";

export function catalogSettings(catalog: DesiredCatalog, adopted: ChangeSignal<unknown>): LeaseSettingsSource {
  // Built once per adopted inventory: the lease manager asks on every health change, and a role map of
  // 10,000 nodes per question made connecting a fleet quadratic.
  let cached: { inventory: Inventory; settings: LeaseSettings } | null = null;
  return {
    current() {
      const inventory = catalog.inventory;
      if (!inventory) return null;
      if (cached?.inventory !== inventory) {
        cached = { inventory, settings: { rollout: inventory.cluster.rollout, roles: new Map<string, Role>(inventory.nodes.map((n) => [n.name, n.role])), labels: new Map(inventory.nodes.map((n) => [n.name, n.labels])) } };
      }
      return cached.settings;
    },
    onChange: (listener) => adopted.subscribe(() => listener()),
  };
}

export function nodeHealthSource(health: NodeHealth): NodeHealthSource {
  return {
    health(node) {
      const view = health.view(node);
      if (!view) return { agentFresh: false, healthy: false, k8sReady: null, reason: `${node} has never reported` };
      return { agentFresh: view.agentFresh && view.connected, healthy: view.agentHealthy === true, k8sReady: view.k8sReady, reason: view.reason };
    },
    onChange: (listener) => health.onChange((view) => listener(view.name)),
  };
}

export function clusterCheckSource(checks: ClusterHealth): ClusterCheckSource {
  return {
    current() {
      const state = checks.current();
      return { ok: state.ok, failing: state.failing };
    },
    onChange: (listener) => checks.onChange(() => listener()),
    gatesNow: () => checks.gatesNow(),
  };
}

/** The k3s versions in each node's last report; a change (not every heartbeat) makes the lease manager decide again. */
export function k3sVersionSource(registry: NodeRegistry): K3sVersionSource {
  const seen = new Map<string, string>();
  const versions = (node: string) => {
    const r = registry.get(node)?.lastReport;
    return r ? { ...(r.k3sRunning ? { running: r.k3sRunning } : {}), ...(r.k3sNext ? { next: r.k3sNext } : {}) } : undefined;
  };
  return {
    versions,
    onChange: (listener) =>
      registry.changed.subscribe((node) => {
        const v = versions(node);
        const key = `${v?.running ?? ""} ${v?.next ?? ""}`;
        if ((seen.get(node) ?? " ") === key) return;
        seen.set(node, key);
        listener();
      }),
  };
}
