// Which nodes save an etcd snapshot before they go down, and under which name (k3s etcd-snapshot save --name).
import type { Inventory, NodeSpec } from "../inventory/model.js";

const EXTERNAL_DATASTORE = "--datastore-endpoint";

/**
 * A k3s server that keeps the cluster's state in embedded etcd. nk renders every server either with clusterInit
 * (the init server) or joining another server (serverAddr), and both run etcd unless a flag points k3s at an
 * external datastore (k3s's sqlite is only for a lone server that neither inits nor joins, which nk never renders).
 */
export function isEmbeddedEtcdServer(inventory: Inventory, node: NodeSpec): boolean {
  if (node.role !== "server") return false;
  const flags = [...inventory.cluster.k3s.extraFlags, ...node.k3sExtraFlags];
  return !flags.some((f) => f === EXTERNAL_DATASTORE || f.startsWith(`${EXTERNAL_DATASTORE}=`));
}

/**
 * `nk-<first 12 of the revision>-<node>`: letters, digits and dashes only, as k3s wants a snapshot name (node names
 * are DNS labels already; anything else is replaced, so a name is valid whatever it is built from).
 */
export function etcdSnapshotName(revision: string, node: string): string {
  const clean = (s: string): string => s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return `nk-${clean(revision.slice(0, 12)) || "unknown"}-${clean(node) || "node"}`;
}

/** The snapshot `node` saves before its disruption under `revision`, or undefined (not an embedded-etcd server, or switched off). */
export function etcdSnapshotFor(inventory: Inventory, node: NodeSpec, revision: string): string | undefined {
  if (!inventory.cluster.rollout.etcdSnapshot || !isEmbeddedEtcdServer(inventory, node)) return undefined;
  return etcdSnapshotName(revision, node.name);
}
