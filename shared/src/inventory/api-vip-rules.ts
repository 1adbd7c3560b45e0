// Validation of `cluster.k3s.api`: the VIP is a free address of the subnet, carried by at least two known servers or load balancer hosts.
import { vipCarrierNames } from "./api-vip.js";
import { formatSubnet, inSubnet, parseIpv4, type Subnet } from "./ipv4.js";
import type { NodeSpec } from "./model.js";
import type { ClusterDraft } from "./parse-cluster.js";
import type { SourcePos, YamlReader } from "./yaml-reader.js";

function at(r: YamlReader, path: string): SourcePos {
  return r.positions.get(path) ?? r.positions.get("cluster.k3s.api") ?? r.positions.get("cluster.k3s") ?? { line: 1, col: 1 };
}

function checkVipAddress(r: YamlReader, vip: string, nodes: readonly NodeSpec[], subnet: Subnet | null, gateway: number | null): void {
  const path = "cluster.k3s.api.vip";
  const ip = parseIpv4(vip);
  if (ip === null) return;
  const owner = nodes.find((n) => parseIpv4(n.address) === ip);
  if (owner) r.report(at(r, path), path, `${vip} is the address of node ${owner.name}: the VIP must be an address no node has`);
  else if (ip === gateway) r.report(at(r, path), path, `${vip} is the gateway address: the VIP must be an address no host has`);
  if (!subnet) return;
  if (!inSubnet(ip, subnet)) r.report(at(r, path), path, `${vip} is outside the cluster subnet ${formatSubnet(subnet)}`);
  else if (subnet.prefixLength <= 30 && (ip === subnet.network || ip === subnet.broadcast)) {
    r.report(at(r, path), path, `${vip} is the ${ip === subnet.network ? "network" : "broadcast"} address of ${formatSubnet(subnet)}`);
  }
}

function checkCarriers(r: YamlReader, api: NonNullable<ClusterDraft["k3s"]["api"]>, nodes: readonly NodeSpec[]): void {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const seen = new Set<string>();
  if (api.on !== "servers") {
    api.on.forEach((name, i) => {
      const path = `cluster.k3s.api.on[${i}]`;
      const node = byName.get(name);
      if (seen.has(name)) r.report(at(r, path), path, `"${name}" is named twice`);
      else if (!node) r.report(at(r, path), path, `"${name}" is not a node (nodes: ${nodes.map((n) => n.name).join(", ")})`);
      else if (node.role === "agent") {
        r.report(at(r, path), path, `"${name}" is an agent: the VIP is carried by servers (their own API answers) or by load balancer hosts (role: none, which run haproxy)`);
      }
      seen.add(name);
    });
  }
  const carriers = vipCarrierNames(api, nodes);
  if (carriers.length < 2 && nodes.length > 0) {
    const path = r.positions.has("cluster.k3s.api.on") ? "cluster.k3s.api.on" : "cluster.k3s.api";
    const who = carriers.length === 0 ? "no node carries" : `only ${carriers[0]} carries`;
    r.report(at(r, path), path, `${who} the VIP ${api.vip}: it is a single point of failure (name at least two servers or load balancer hosts in on)`, "warning");
  }
}

/** Returns the API address nodes join through: the VIP. */
export function applyApiVipRules(r: YamlReader, cluster: ClusterDraft, nodes: readonly NodeSpec[], subnet: Subnet | null, knownSecrets: ReadonlySet<string> | undefined): string {
  const api = cluster.k3s.api!;
  if (cluster.k3s.apiAddress !== undefined && cluster.k3s.apiAddress !== api.vip) {
    r.report(at(r, "cluster.k3s.api_address"), "cluster.k3s.api_address", `${cluster.k3s.apiAddress} differs from cluster.k3s.api.vip ${api.vip}: with a VIP nodes join through the VIP (remove api_address)`);
  }
  checkVipAddress(r, api.vip, nodes, subnet, parseIpv4(cluster.network.gateway));
  checkCarriers(r, api, nodes);
  const secret = api.vrrpPasswordSecret;
  if (knownSecrets && !knownSecrets.has(secret)) {
    const path = r.positions.has("cluster.k3s.api.vrrp_password_secret") ? "cluster.k3s.api.vrrp_password_secret" : "cluster.k3s.api";
    r.report(at(r, path), path, `secret "${secret}" does not exist in the coordinator (set it with: nkctl secret set ${secret})`);
  }
  return api.vip;
}
