// Imports the csv plans format (hosts.csv, k3s.csv, network.yaml, nixConfigs/) into the nk format.
import { parseIpv4 } from "../inventory/index.js";
import { emitInventory, type DraftNode } from "./emit-inventory.js";
import { ImportProblems } from "./import-problems.js";
import { adminKeys, DNS_LABEL, quorumNote, sortedFiles, tokenComment, TOKEN_SECRET, type ImportOptions, type ImportResult } from "./import-result.js";
import { readCsvTable } from "./parse-csv.js";
import { readNetworkYaml } from "./read-network-yaml.js";

export interface PlansInput {
  readonly hostsCsv: string;
  readonly k3sCsv: string;
  readonly networkYaml: string;
  /** Host name → content of nixConfigs/<name>.nix. */
  readonly nixConfigs?: ReadonlyMap<string, string>;
}

const HOSTS = "hosts.csv";
const K3S = "k3s.csv";
const DEFAULT_CHANNEL = "nixos-24.11";
const DEFAULT_BOOT_DEVICE = "/dev/sda";
const TYPES: Readonly<Record<string, "init" | "server" | "agent">> = { "init-server": "init", init: "init", init_server: "init", server: "server", agent: "agent" };
const MAX_LISTED = 10;

interface Host {
  readonly name: string;
  readonly iface: string;
  readonly ip: string;
  readonly admin: string;
  readonly line: number;
}

interface Slots {
  server?: { line: number; init: boolean };
  agent?: { line: number };
}

/** `named` holds every name in hosts.csv, or null when the file could not be read as a table. */
function readHosts(text: string, problems: ImportProblems, notes: string[]): { hosts: Map<string, Host>; named: Set<string> | null } {
  const table = readCsvTable(text, HOSTS, ["name", "interface", "ip", "admin"], problems, notes);
  const hosts = new Map<string, Host>();
  const named = new Set<string>();
  const byIp = new Map<string, Host>();
  for (const row of table.rows) {
    const [name, iface, ip, admin] = [row.get("name"), row.get("interface"), row.get("ip"), row.get("admin")];
    const bad = (field: string, message: string): void => problems.add(HOSTS, row.line, field, message);
    named.add(name);
    if (name === "") bad("name", "is empty");
    else if (!DNS_LABEL.test(name)) bad("name", `"${name}" is not a valid node name (a DNS label: letters, digits, '-')`);
    else if (hosts.has(name)) bad("name", `duplicate host "${name}" (first at line ${hosts.get(name)!.line})`);
    if (iface === "") bad("interface", "is empty (the host's network interface, e.g. enp1s0)");
    if (ip === "") bad("ip", "is empty");
    else if (parseIpv4(ip) === null) bad("ip", `"${ip}" is not an IPv4 address`);
    else if (byIp.has(ip)) bad("ip", `${ip} is already the address of host "${byIp.get(ip)!.name}" (line ${byIp.get(ip)!.line})`);
    const host = { name, iface, ip, admin, line: row.line };
    if (!byIp.has(ip)) byIp.set(ip, host);
    if (!hosts.has(name)) hosts.set(name, host);
  }
  return { hosts, named: table.complete ? named : null };
}

function readK3s(text: string, named: Set<string> | null, problems: ImportProblems, notes: string[]): Map<string, Slots> {
  const table = readCsvTable(text, K3S, ["host", "name", "type", "ip"], problems, notes);
  const slots = new Map<string, Slots>();
  const inits: { host: string; line: number }[] = [];
  const containers: string[] = [];
  for (const row of table.rows) {
    const [host, name, typeText, ip] = [row.get("host"), row.get("name"), row.get("type"), row.get("ip")];
    const bad = (field: string, message: string): void => problems.add(K3S, row.line, field, message);
    const type = Object.hasOwn(TYPES, typeText) ? TYPES[typeText] : undefined;
    if (host === "") bad("host", "is empty");
    else if (named && !named.has(host)) bad("host", `unknown host "${host}" (not in ${HOSTS})`);
    if (type === undefined) bad("type", `"${typeText}" is not a k3s type (init-server, server or agent; also init, init_server)`);
    if (ip !== "" && parseIpv4(ip) === null) bad("ip", `"${ip}" is not an IPv4 address`);
    if (ip !== "") containers.push(`${name || host} ${ip}`);
    if (type === "init") inits.push({ host, line: row.line });
    if (type === undefined || !named?.has(host)) continue;
    const slot = slots.get(host) ?? {};
    const kind = type === "agent" ? "agent" : "server";
    const taken = slot[kind];
    if (taken) bad("type", `host "${host}" already has a k3s ${kind} (line ${taken.line}); at most one server and one agent per host`);
    else if (kind === "agent") slot.agent = { line: row.line };
    else slot.server = { line: row.line, init: type === "init" };
    slots.set(host, slot);
  }
  if (table.complete && inits.length === 0) problems.add(K3S, table.headerLine, "type", "no init server: exactly one row must have type init-server");
  for (const extra of inits.slice(1)) {
    problems.add(K3S, extra.line, "type", `second init server (host "${extra.host}"; the first is host "${inits[0]!.host}" at line ${inits[0]!.line}); exactly one is allowed`);
  }
  if (containers.length > 0) {
    const listed = containers.slice(0, MAX_LISTED).join(", ") + (containers.length > MAX_LISTED ? `, and ${containers.length - MAX_LISTED} more` : "");
    notes.push(`${K3S}: the k3s container addresses (column ip) are not used: in nk k3s runs on the host itself, so every node keeps its ${HOSTS} address (dropped: ${listed})`);
  }
  return slots;
}

/** The admin user: the one most imported hosts name (the first such on a tie); disagreement is noted. */
function pickAdmin(imported: readonly Host[], options: ImportOptions, notes: string[]): string {
  const byUser = new Map<string, string[]>();
  for (const h of imported) if (h.admin !== "") byUser.set(h.admin, [...(byUser.get(h.admin) ?? []), h.name]);
  const ranked = [...byUser].sort((a, b) => b[1].length - a[1].length);
  if (options.adminUser !== undefined) {
    if (ranked.length > 0) notes.push(`cluster.admin.user is "${options.adminUser}" as given to the importer (${HOSTS} names ${ranked.map(([u]) => u).join(", ")})`);
    return options.adminUser;
  }
  if (ranked.length === 0) {
    notes.push(`${HOSTS} names no admin for the imported hosts: cluster.admin.user is "ops"`);
    return "ops";
  }
  const user = ranked[0]![0];
  if (ranked.length > 1) {
    notes.push(`hosts disagree on the admin user (${ranked.map(([u, hs]) => `${u}: ${hs.join(", ")}`).join("; ")}); nk has one admin user for every node: using "${user}"`);
  } else {
    notes.push(`${HOSTS} admin → cluster.admin.user "${user}"`);
  }
  return user;
}

/** Imports the csv plans files. Throws INVENTORY_INVALID listing every problem with file:line. */
export function importPlans(input: PlansInput, options: ImportOptions = {}): ImportResult {
  const problems = new ImportProblems();
  const notes: string[] = [];
  const comments = new Map<string, string[]>();
  const { hosts, named } = readHosts(input.hostsCsv, problems, notes);
  const slots = readK3s(input.k3sCsv, named, problems, notes);
  const network = readNetworkYaml(input.networkYaml, problems, notes);
  problems.throwIfAny();

  const bootDevice = options.bootDevice ?? DEFAULT_BOOT_DEVICE;
  // Every host becomes a node: one with no k3s row is a NixOS host without k3s (role none).
  const imported = [...hosts.values()];
  const ifaces = new Set(imported.map((h) => h.iface));
  const sharedIface = ifaces.size === 1 ? [...ifaces][0] : undefined;
  const nodes: DraftNode[] = [];
  let init: Host | undefined;
  for (const host of hosts.values()) {
    const slot = slots.get(host.name);
    if (!slot) {
      nodes.push({ name: host.name, address: host.ip, role: "none", init: false, ...(sharedIface === undefined ? { interface: host.iface } : {}), bootDevice });
      notes.push(`${host.name} (${HOSTS}:${host.line}) has no row in ${K3S}: node ${host.name} with role none (a NixOS host without k3s), ${host.ip} on ${host.iface}`);
      continue;
    }
    const role = slot.server ? "server" : "agent";
    const isInit = slot.server?.init ?? false;
    if (isInit) init = host;
    nodes.push({ name: host.name, address: host.ip, role, init: isInit, ...(sharedIface === undefined ? { interface: host.iface } : {}), bootDevice });
    notes.push(`${host.name} → node ${host.name}: ${role}${isInit ? ", init (clusterInit)" : ""}, ${host.ip} on ${host.iface}`);
    if (slot.server && slot.agent) {
      notes.push(`${host.name} had a k3s server and a k3s agent (${K3S}:${slot.server.line}, ${slot.agent.line}): imported as one server node, which runs workloads too`);
    }
  }
  const user = pickAdmin(imported, options, notes);
  if (sharedIface !== undefined) notes.push(`every node uses interface ${sharedIface}: set once as cluster.network.interface`);
  const name = options.clusterName ?? "plans";
  if (options.clusterName === undefined) notes.push(`the plans format has no cluster name: cluster.name is "${name}"`);
  const channel = options.channel ?? DEFAULT_CHANNEL;
  if (options.channel === undefined) {
    notes.push(`the plans format does not name a NixOS release: cluster.nixpkgs.channel is ${channel}; set the release the hosts run now (nixos-version) to avoid an unplanned upgrade`);
  }
  if (options.bootDevice === undefined) {
    notes.push(`the plans format has no boot device: boot_device is ${bootDevice} on every node; check each node (lsblk) before the first rollout, the boot loader is installed there`);
  }
  notes.push(`k3s.api_address is left to its default, the init server's address (${init!.name}, ${init!.ip})`);
  notes.push(`the plans files hold no k3s token: before the first rollout store the cluster's token (or a new random one for a new cluster) with: nkctl secret set ${TOKEN_SECRET}`);
  const sshKeys = adminKeys(options, notes, comments);
  quorumNote(nodes.filter((n) => n.role === "server").length, notes);
  tokenComment(comments);

  const extraFiles = new Map<string, string>();
  const seen = new Map<string, string>();
  for (const [file, content] of [...(input.nixConfigs ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const key = file.trim().toLowerCase().replace(/\.nix$/, "");
    const source = `nixConfigs/${file.replace(/\.nix$/, "")}.nix`;
    if (seen.has(key)) problems.add(source, 1, "", `names the same host as nixConfigs/${seen.get(key)}.nix`);
    seen.set(key, file);
    if (nodes.some((n) => n.name === key)) {
      extraFiles.set(`nodes/${key}.nix`, content);
      notes.push(`${source} → nodes/${key}.nix, copied as is: review it, it was written for the plans tool (k3s ran in containers there)`);
    } else {
      notes.push(`${source}: ${hosts.has(key) ? `host ${key} is not imported` : `no host "${key}" in ${HOSTS}`}, not copied`);
    }
  }
  problems.throwIfAny();

  const yaml = emitInventory({
    header: [`nk inventory imported from the csv plans (${HOSTS}, ${K3S}, network.yaml). Reference: docs/inventory.md.`],
    cluster: {
      name,
      channel,
      network: { ...network!, ...(sharedIface !== undefined ? { interface: sharedIface } : {}) },
      admin: { user, sshKeys },
      k3s: { tokenSecret: TOKEN_SECRET },
    },
    nodes,
    comments,
  });
  return { yaml, notes, extraFiles: sortedFiles(extraFiles) };
}
