// Imports an nk3 inventory.yaml (nodes keyed by IP, every node a k3s server) into the nk format.
import { isMap, isScalar, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from "yaml";
import { DEVICE_PATH, formatIpv4, inSubnet, NIXOS_CHANNEL, parseIpv4, subnetOf } from "../inventory/index.js";
import { emitInventory, type DraftNode } from "./emit-inventory.js";
import { ImportProblems } from "./import-problems.js";
import { adminKeys, quorumNote, sortedFiles, tokenComment, TOKEN_SECRET, type ImportOptions, type ImportResult } from "./import-result.js";
import { nk3Hostname } from "./nk3-hostname.js";

const CLUSTER_KEYS = ["join_address", "join_token", "default_gateway", "nix_channel", "nodes"];
const NODE_KEYS = ["initiator", "boot_device"];
/** nk3 hard-coded these on every node. */
const NK3_PREFIX_LENGTH = 24;
const NK3_NAMESERVERS = ["1.1.1.1"];

/** What nk3 configured on every node that nk's renderer does not; written to common/nk3.nix. */
const NK3_COMPAT_NIX = `# Settings nk3 applied to every node that nk does not render itself (written by the nk3 importer).
# Remove a line once nothing on the cluster depends on it.
{ lib, ... }:
{
  # Ceph RBD volumes (e.g. rook-ceph) need the rbd kernel module; nk3 always loaded it.
  boot.kernelModules = [ "rbd" ];
  # nk3 ran every node with the firewall off; mkDefault keeps that unless nk's own config opens ports.
  networking.firewall.enable = lib.mkDefault false;
}
`;

const CEPH_CHECK_COMMENT = [
  "nk3 held every reboot until Ceph reported HEALTH_OK. With rook-ceph, gate the rollout the same way:",
  'checks: [{ name: ceph, command: "k3s kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph health", expect: HEALTH_OK, on: any-server }]',
];

interface Entry {
  readonly key: string;
  readonly line: number;
  readonly value: Node | null;
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}

/** Imports nk3 `inventory.yaml` text; `file` names it in notes and errors. Throws INVENTORY_INVALID. */
export function importNk3(text: string, file = "inventory.yaml", options: ImportOptions = {}): ImportResult {
  const problems = new ImportProblems();
  const notes: string[] = [];
  const comments = new Map<string, string[]>();
  const lines = new LineCounter();
  // nk3 read its inventory with PyYAML, which speaks YAML 1.1 (`initiator: yes` is true there).
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, version: "1.1" });
  for (const err of doc.errors) {
    problems.add(file, lines.linePos(err.pos[0]).line, "", `YAML: ${err.code === "DUPLICATE_KEY" ? "duplicate key (each key may appear once)" : firstLine(err.message)}`);
  }
  problems.throwIfAny();

  const lineOf = (node: Node | null | undefined, fallback = 1): number => (node?.range ? lines.linePos(node.range[0]).line : fallback);
  /** The entries of a mapping; reports anything else. Keys are read as written (IPs stay text). */
  const entries = (node: Node | null, path: string, line: number): Entry[] | null => {
    if (!isMap(node)) {
      problems.add(file, lineOf(node, line), path, "expected a mapping");
      return null;
    }
    return ((node as YAMLMap<Node, Node | null>).items as Pair<Node, Node | null>[]).map((pair) => ({
      key: isScalar(pair.key) ? (pair.key.source ?? String(pair.key.value)) : "",
      line: lineOf(pair.key, line),
      value: pair.value === null || (isScalar(pair.value) && pair.value.value === null) ? null : pair.value,
    }));
  };
  const dropUnknown = (list: Entry[], known: readonly string[], path: string): Map<string, Entry> => {
    const out = new Map<string, Entry>();
    for (const e of list) {
      if (known.includes(e.key)) out.set(e.key, e);
      else notes.push(`${file}:${e.line} ${path}${e.key}: not an nk3 key the importer knows, dropped`);
    }
    return out;
  };
  const str = (e: Entry | undefined, path: string): string | undefined => {
    if (!e || e.value === null) return undefined;
    if (isScalar(e.value) && typeof e.value.value === "string" && e.value.value.trim() !== "") return e.value.value.trim();
    problems.add(file, lineOf(e.value, e.line), path, "expected a non-empty string");
    return undefined;
  };
  /** Reports a required value that is absent or empty (a present but malformed one is already reported). */
  const need = <T>(value: T | undefined, e: Entry | undefined, parentLine: number, path: string, what: string): T | undefined => {
    if (value === undefined && (e === undefined || e.value === null)) problems.add(file, e?.line ?? parentLine, path, `is required (${what})`);
    return value;
  };
  const ipv4 = (e: Entry | undefined, path: string): string | undefined => {
    const v = str(e, path);
    if (v !== undefined && parseIpv4(v) === null) {
      problems.add(file, lineOf(e!.value, e!.line), path, `"${v}" is not an IPv4 address`);
      return undefined;
    }
    return v;
  };

  const top = entries(doc.contents as Node | null, "", 1);
  problems.throwIfAny();
  const topKeys = dropUnknown(top!, ["cluster"], "");
  const clusterEntry = topKeys.get("cluster");
  if (!clusterEntry) {
    problems.add(file, 1, "cluster", "is required (nk3 keeps everything under cluster:)");
    problems.throwIfAny();
  }
  const clusterList = entries(clusterEntry!.value, "cluster", clusterEntry!.line);
  problems.throwIfAny();
  const c = dropUnknown(clusterList!, CLUSTER_KEYS, "cluster.");

  const cl = clusterEntry!.line;
  const gateway = need(ipv4(c.get("default_gateway"), "cluster.default_gateway"), c.get("default_gateway"), cl, "cluster.default_gateway", "the nodes' IPv4 gateway");
  let channel = need(str(c.get("nix_channel"), "cluster.nix_channel"), c.get("nix_channel"), cl, "cluster.nix_channel", "e.g. nixos-24.05; the importer does not guess a NixOS release");
  const channelName = channel?.match(/\/(nixos-[^/]+?)\/?$/)?.[1];
  if (channel !== undefined && channelName !== undefined) {
    notes.push(`${file}:${c.get("nix_channel")!.line} nix_channel ${channel} → nixpkgs.channel ${channelName}`);
    channel = channelName;
  }
  if (channel !== undefined && !NIXOS_CHANNEL.test(channel)) {
    problems.add(file, lineOf(c.get("nix_channel")!.value, cl), "cluster.nix_channel", `"${channel}" is not a NixOS channel (e.g. https://nixos.org/channels/nixos-24.05 or nixos-24.05)`);
  }
  const joinAddress = ipv4(c.get("join_address"), "cluster.join_address");

  const nodes: DraftNode[] = [];
  const initiators: { ip: string; line: number }[] = [];
  let unreadable = false;
  const nodesEntry = c.get("nodes");
  if (!nodesEntry) problems.add(file, cl, "cluster.nodes", "is required (nodes keyed by IPv4 address)");
  const nodeList = nodesEntry ? (entries(nodesEntry.value, "cluster.nodes", nodesEntry.line) ?? []) : [];
  if (nodesEntry && isMap(nodesEntry.value) && nodeList.length === 0) problems.add(file, nodesEntry.line, "cluster.nodes", "has no nodes");
  // nk3 put every node on the default gateway's /24: an address outside it would not validate.
  const gatewayAddress = gateway === undefined ? null : parseIpv4(gateway);
  const gatewayNet = gatewayAddress === null ? null : subnetOf(gatewayAddress, NK3_PREFIX_LENGTH);
  for (const n of nodeList) {
    const path = `cluster.nodes.${n.key}`;
    const address = parseIpv4(n.key);
    if (address === null) problems.add(file, n.line, path, `"${n.key}" is not an IPv4 address (nk3 keys nodes by address)`);
    else if (gatewayNet !== null) {
      const subnet = `${formatIpv4(gatewayNet.network)}/${NK3_PREFIX_LENGTH}`;
      if (!inSubnet(address, gatewayNet)) problems.add(file, n.line, path, `${n.key} is outside ${subnet}, the subnet of default_gateway ${gateway} (nk3 put every node there)`);
      else if (address === gatewayNet.network || address === gatewayNet.broadcast) problems.add(file, n.line, path, `${n.key} is the ${address === gatewayNet.network ? "network" : "broadcast"} address of ${subnet}`);
      else if (address === gatewayAddress) problems.add(file, n.line, path, `${n.key} is the default_gateway address`);
    }
    const list = n.value === null ? [] : entries(n.value, path, n.line);
    if (list === null) {
      unreadable = true;
      continue;
    }
    const f = dropUnknown(list, NODE_KEYS, `${path}.`);
    const bootDevice = need(str(f.get("boot_device"), `${path}.boot_device`), f.get("boot_device"), n.line, `${path}.boot_device`, "the disk the boot loader is installed on");
    if (bootDevice !== undefined && !DEVICE_PATH.test(bootDevice)) {
      problems.add(file, lineOf(f.get("boot_device")!.value, n.line), `${path}.boot_device`, `expected a device path under /dev (e.g. /dev/sda), got "${bootDevice}"`);
    }
    const init = f.get("initiator");
    let isInit = false;
    if (init && init.value !== null) {
      if (isScalar(init.value) && typeof init.value.value === "boolean") isInit = init.value.value;
      else problems.add(file, lineOf(init.value, init.line), `${path}.initiator`, "expected true or false");
    }
    if (isInit) initiators.push({ ip: n.key, line: init!.line });
    nodes.push({ name: nk3Hostname(n.key), address: n.key, role: "server", init: isInit, bootDevice: bootDevice ?? "" });
  }
  // nk3 documents dropping the initiator once the cluster runs: every node then joins through join_address.
  if (nodesEntry && nodeList.length > 0 && initiators.length === 0 && !unreadable && joinAddress === undefined) {
    problems.add(file, nodesEntry.line, "cluster.nodes", "no node has initiator: true and there is no join_address, so the nodes have nothing to join: mark the node that created the cluster with initiator: true, or set join_address");
  }
  for (const extra of initiators.slice(1)) {
    problems.add(file, extra.line, `cluster.nodes.${extra.ip}.initiator`, `several initiators (${initiators.map((i) => i.ip).join(", ")}); exactly one is allowed`);
  }
  problems.throwIfAny();

  const name = options.clusterName ?? "nk3";
  const user = options.adminUser ?? "ops";
  const iface = options.interface ?? "eth0";
  const init = initiators[0];
  notes.unshift(`${file}: ${nodes.length} node${nodes.length > 1 ? "s" : ""}, all k3s servers as in nk3; node names are uuid5(OID, address) as nk3 derived them, so Kubernetes node names do not change`);
  for (const n of nodes) {
    notes.push(`${n.address} → node ${n.name}: server${n.init ? ", init (clusterInit)" : ""}, boot_device ${n.bootDevice}`);
  }
  if (init === undefined) {
    notes.push(`no node has initiator: true: every node joins through join_address ${joinAddress} (right for a running cluster, whose etcd exists; wrong for a new one, which needs one initiator to create it)`);
  }
  if (joinAddress !== undefined) {
    const known = nodes.some((n) => n.address === joinAddress);
    notes.push(`join_address ${joinAddress} → k3s.api_address${known ? "" : " (not a node's address: fine for a load balancer or VIP, otherwise fix it)"}`);
  } else {
    notes.push(`no join_address: k3s.api_address is left to its default, the init server's address ${init!.ip}`);
  }
  const token = c.get("join_token");
  if (token && token.value !== null && !(isScalar(token.value) && String(token.value.value).trim() === "")) {
    notes.push(`${file}:${token.line} holds the k3s join token (cluster.join_token); it is NOT copied into the inventory. Before the first rollout store that value in the coordinator: nkctl secret set ${TOKEN_SECRET}`);
  } else {
    notes.push(`${file} has no join_token: before the first rollout store the cluster's existing token (/var/lib/rancher/k3s/server/token on ${init ? `the init server ${init.ip}` : "any server"}) with: nkctl secret set ${TOKEN_SECRET}`);
  }
  if (options.clusterName === undefined) notes.push(`nk3 has no cluster name: cluster.name is "${name}"`);
  if (options.adminUser === undefined) notes.push(`nk3 has no admin user: cluster.admin.user is "${user}"`);
  const sshKeys = adminKeys(options, notes, comments);
  if (options.interface === undefined) {
    notes.push(`nk3 does not record the network interface: cluster.network.interface is "${iface}" for every node; check it (ip link) before the first rollout, a wrong interface leaves a node without network`);
  }
  notes.push(`network: gateway ${gateway}, prefix_length ${NK3_PREFIX_LENGTH} and nameservers [${NK3_NAMESERVERS.join(", ")}], as nk3 set them`);
  quorumNote(nodes.length, notes);
  notes.push("boot_device stays boot_device, short for boot: { loader: grub-bios, device: ... }: GRUB for BIOS on that disk, as nk3 rendered it (boot.loader.grub.devices); a node that boots UEFI needs boot: { loader: systemd-boot } or { loader: grub-efi } instead (docs/inventory.md)");
  notes.push("common/nk3.nix keeps what nk3 set on every node beyond nk's own config: the rbd kernel module (Ceph) and the firewall off");
  notes.push("nk3 held reboots until Ceph was HEALTH_OK: a commented check in cluster.rollout shows how to keep that gate");
  tokenComment(comments);
  comments.set("cluster.rollout.checks", CEPH_CHECK_COMMENT);

  const yaml = emitInventory({
    header: [`nk inventory imported from nk3's ${file}. Reference: docs/inventory.md.`],
    cluster: {
      name,
      channel: channel!,
      network: { gateway: gateway!, prefixLength: NK3_PREFIX_LENGTH, nameservers: NK3_NAMESERVERS, interface: iface },
      admin: { user, sshKeys },
      k3s: { tokenSecret: TOKEN_SECRET, ...(joinAddress !== undefined ? { apiAddress: joinAddress } : {}) },
    },
    nodes,
    comments,
  });
  return { yaml, notes, extraFiles: sortedFiles(new Map([["common/nk3.nix", NK3_COMPAT_NIX]])) };
}
