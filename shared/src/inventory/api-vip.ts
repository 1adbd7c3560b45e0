// The API VIP's carriers and their VRRP settings, derived the same way by validation and rendering.
import { parseIpv4 } from "./ipv4.js";
import type { ApiVip, NodeSpec } from "./model.js";

/** Carrier names in priority order: `on: servers` means every server by name, a list keeps its own order. */
export function vipCarrierNames(api: ApiVip, nodes: readonly NodeSpec[]): string[] {
  if (api.on === "servers") return nodes.filter((n) => n.role === "server").map((n) => n.name).sort();
  return [...api.on];
}

/** The first carrier gets 150, each next one 1 less: distinct, so the election never ties. */
export function vrrpPriority(index: number): number {
  return 150 - index;
}

/** VRRP router id (1..255): the VIP's last octet, 255 when that is 0; two VIPs on one LAN must differ in it. */
export function vrrpRouterId(vip: string): number {
  const last = (parseIpv4(vip) ?? 0) % 256;
  return last === 0 ? 255 : last;
}
