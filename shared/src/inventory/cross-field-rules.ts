// Rules that look across fields: address plan, init server, quorum, check targets, secrets.
import { applyApiVipRules } from "./api-vip-rules.js";
import { formatSubnet, inSubnet, parseIpv4, subnetOf, type Subnet } from "./ipv4.js";
import type { ClusterCheck, NodeSpec } from "./model.js";
import { checkRolloutPolicy } from "./rollout-policy-rules.js";
import type { ClusterDraft } from "./parse-cluster.js";
import type { SourcePos, YamlReader } from "./yaml-reader.js";

export interface RuleOptions {
  /** Secret names the coordinator holds; when given, references to others are errors. */
  readonly knownSecrets?: ReadonlySet<string>;
}

function at(r: YamlReader, path: string, fallback: string): SourcePos {
  return r.positions.get(path) ?? r.positions.get(fallback) ?? { line: 1, col: 1 };
}

function checkAddresses(r: YamlReader, nodes: readonly NodeSpec[], subnet: Subnet | null, gateway: number | null): void {
  const seen = new Map<number, string>();
  // File order, so the second occurrence of an address is the one reported.
  const line = (n: NodeSpec): number => r.positions.get(`nodes.${n.name}`)?.line ?? 0;
  for (const node of [...nodes].sort((a, b) => line(a) - line(b))) {
    const path = `nodes.${node.name}.address`;
    const ip = parseIpv4(node.address);
    if (ip === null) continue;
    const owner = seen.get(ip);
    if (owner !== undefined) r.report(at(r, path, `nodes.${node.name}`), path, `${node.address} is already the address of node ${owner}`);
    else seen.set(ip, node.name);
    if (!subnet) continue;
    if (!inSubnet(ip, subnet)) r.report(at(r, path, `nodes.${node.name}`), path, `${node.address} is outside the cluster subnet ${formatSubnet(subnet)}`);
    else if (subnet.prefixLength <= 30 && (ip === subnet.network || ip === subnet.broadcast)) {
      r.report(at(r, path, `nodes.${node.name}`), path, `${node.address} is the ${ip === subnet.network ? "network" : "broadcast"} address of ${formatSubnet(subnet)}`);
    } else if (ip === gateway) r.report(at(r, path, `nodes.${node.name}`), path, `${node.address} is the gateway address`);
  }
}

/**
 * Servers and the init server. Zero init servers is a warning, not an error: once a cluster runs (its etcd
 * exists), the former initiator joins through the API address like every other server, as nk3 documents.
 */
function checkServers(r: YamlReader, nodes: readonly NodeSpec[], explicitApiAddress: string | undefined): void {
  const servers = nodes.filter((n) => n.role === "server");
  const inits = servers.filter((n) => n.init);
  if (servers.length === 0 && nodes.length > 0) r.report(at(r, "nodes", "nodes"), "nodes", "needs at least one server (role: server)");
  else if (inits.length === 0 && servers.length > 0) {
    if (explicitApiAddress === undefined || explicitApiAddress === "") {
      r.report(at(r, "nodes", "nodes"), "nodes", `no server has init: true and cluster.k3s.api_address is not set, so the servers (${servers.map((n) => n.name).join(", ")}) have nothing to join: set api_address to a running server's (or a load balancer's) address, or mark exactly one server with init: true`);
    } else {
      r.report(at(r, "nodes", "nodes"), "nodes", `no server has init: true, so every server joins https://${explicitApiAddress}:6443: right for a running cluster (its etcd exists), wrong for a new one (nothing would create it: mark exactly one server with init: true)`, "warning");
    }
  } else if (inits.length > 1) {
    for (const n of inits.slice(1)) {
      r.report(at(r, `nodes.${n.name}.init`, `nodes.${n.name}`), `nodes.${n.name}.init`, `several init servers (${inits.map((i) => i.name).join(", ")}): exactly one may have init: true`);
    }
  }
  if (servers.length > 0 && servers.length % 2 === 0) {
    r.report(at(r, "nodes", "nodes"), "nodes", `${servers.length} servers: an even number of etcd members tolerates no more failures than ${servers.length - 1}; use an odd number`, "warning");
  }
}

function checkClusterChecks(r: YamlReader, checks: readonly ClusterCheck[], nodes: readonly NodeSpec[]): void {
  const names = new Set<string>();
  checks.forEach((check) => {
    const path = r.origins.get(check) ?? "cluster.rollout.checks";
    if (names.has(check.name)) r.report(at(r, `${path}.name`, path), `${path}.name`, `duplicate check name "${check.name}"`);
    names.add(check.name);
    if (typeof check.on === "object" && !nodes.some((n) => n.name === (check.on as { node: string }).node)) {
      r.report(at(r, `${path}.on`, path), `${path}.on`, `"${check.on.node}" is neither any-server, all-servers, all nor a node name`);
    }
  });
}

export function applyCrossFieldRules(r: YamlReader, cluster: ClusterDraft, nodes: readonly NodeSpec[], options: RuleOptions): string {
  const gateway = parseIpv4(cluster.network.gateway);
  const subnet = gateway !== null && cluster.network.prefixLength > 0 ? subnetOf(gateway, cluster.network.prefixLength) : null;
  checkAddresses(r, nodes, subnet, gateway);
  checkServers(r, nodes, cluster.k3s.api?.vip ?? cluster.k3s.apiAddress);
  checkClusterChecks(r, cluster.rollout.checks, nodes);
  checkRolloutPolicy(r, cluster.rollout, nodes);
  for (const node of nodes) {
    const seen = new Set<string>();
    node.checks.forEach((c) => {
      const path = `${r.origins.get(c) ?? `nodes.${node.name}.checks`}.name`;
      if (seen.has(c.name)) r.report(at(r, path, `nodes.${node.name}`), path, `duplicate check name "${c.name}"`);
      seen.add(c.name);
    });
  }
  const secret = cluster.k3s.tokenSecret;
  if (secret && options.knownSecrets && !options.knownSecrets.has(secret)) {
    r.report(at(r, "cluster.k3s.token_secret", "cluster.k3s"), "cluster.k3s.token_secret", `secret "${secret}" does not exist in the coordinator (set it with: nkctl secret set ${secret})`);
  }
  if (cluster.k3s.api) return applyApiVipRules(r, cluster, nodes, subnet, options.knownSecrets);
  const init = nodes.find((n) => n.init && n.role === "server");
  const apiAddress = cluster.k3s.apiAddress ?? init?.address ?? "";
  const api = parseIpv4(apiAddress);
  if (cluster.k3s.apiAddress !== undefined && api !== null && !nodes.some((n) => n.address === apiAddress && n.role === "server")) {
    r.report(at(r, "cluster.k3s.api_address", "cluster.k3s"), "cluster.k3s.api_address", `${apiAddress} is not the address of a server node (a load-balanced VIP is fine: ignore this warning)`, "warning");
  }
  return apiAddress;
}
