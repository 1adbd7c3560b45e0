// Reads the `nodes:` section: one NodeSpec per entry, defaults from the cluster, per-field diagnostics.
import { NODE_SYSTEMS, type NodeSpec, type Role } from "./model.js";
import { bootDeviceShorthand, checkBootForSystem, readBootDraft, resolveBoot, type BootDraft } from "./parse-boot.js";
import { readIpv4 } from "./parse-cluster.js";
import { DNS_LABEL } from "../names/index.js";
import { BUILD_FALLBACKS } from "./parse-build.js";
import { readNodeChecks } from "./parse-checks.js";
import type { Located, YamlReader } from "./yaml-reader.js";

const NODE_KEYS = ["address", "role", "init", "interface", "system", "boot", "boot_device", "labels", "taints", "checks", "k3s_extra_flags", "build_fallback"] as const;
const LABEL_KEY = /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;
const TAINT = /^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/;
const INTERFACE = /^[A-Za-z0-9_.-]{1,15}$/;

function readLabels(r: YamlReader, loc: Located | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const f = loc ? r.map(loc, "any") : null;
  for (const [key, value] of f ?? []) {
    const v = r.string(value, { coerce: true });
    if (!LABEL_KEY.test(key)) r.report(value.pos, value.path, `"${key}" is not a valid Kubernetes label key`);
    else if (v !== undefined && !LABEL_VALUE.test(v)) r.report(value.pos, value.path, `"${v}" is not a valid Kubernetes label value`);
    else if (v !== undefined) out[key] = v;
  }
  return out;
}

function readTaints(r: YamlReader, loc: Located | undefined): string[] {
  const taints = r.stringList(loc) ?? [];
  taints.forEach((t, i) => {
    if (!TAINT.test(t)) r.report(loc!.pos, `${loc!.path}[${i}]`, `"${t}" is not a taint (key[=value]:NoSchedule|PreferNoSchedule|NoExecute)`);
  });
  return taints.filter((t) => TAINT.test(t));
}

/** What nodes inherit from the cluster section. */
export interface NodeDefaults {
  readonly interface?: string;
  readonly boot?: BootDraft;
}

function readNode(r: YamlReader, name: string, loc: Located, defaults: NodeDefaults, reported: Set<string>): NodeSpec | undefined {
  if (!DNS_LABEL.test(name)) r.report(r.positions.get(loc.path) ?? loc.pos, loc.path, `"${name}" is not a valid node name (a DNS label: lower-case letters, digits, '-')`);
  const f = r.map(loc, NODE_KEYS);
  if (!f) {
    if (loc.node === null) r.report(loc.pos, loc.path, "expected a mapping with at least address and role");
    return undefined;
  }
  const address = r.require(readIpv4(r, f.get("address")), loc, "address", "IPv4 address");
  const role = r.require(r.oneOf<Role>(f.get("role"), ["server", "agent", "none"]), loc, "role", "server, agent or none");
  const init = r.boolean(f.get("init")) ?? false;
  const ifaceLoc = f.get("interface");
  const iface = r.string(ifaceLoc) ?? defaults.interface;
  if (iface === undefined) r.report(loc.pos, `${loc.path}.interface`, "is required (or set cluster.network.interface as the default)");
  else if (!INTERFACE.test(iface)) r.report(ifaceLoc?.pos ?? loc.pos, `${loc.path}.interface`, `"${iface}" is not a network interface name`);
  const system = r.oneOf(f.get("system"), NODE_SYSTEMS) ?? "x86_64-linux";
  const shorthand = f.get("boot_device");
  if (shorthand && f.has("boot")) {
    r.report(shorthand.pos, shorthand.path, "is the short form of boot: { loader: grub-bios, device: ... }: set boot or boot_device, not both");
  }
  const problemsBefore = r.diagnostics.length;
  const own = f.has("boot") ? readBootDraft(r, f.get("boot")) : bootDeviceShorthand(r, shorthand);
  // A boot setting that did not read is already reported: do not add "is required" on top of it.
  const boot = r.diagnostics.length > problemsBefore ? undefined : resolveBoot(r, loc, own, defaults.boot, reported);
  if (boot) checkBootForSystem(r, loc, f.get("system"), system, boot);
  if (init && role !== undefined && role !== "server") r.report(f.get("init")!.pos, `${loc.path}.init`, "only a server can be the init server (clusterInit)");
  if (role === "none") {
    // A host without k3s has no Kubernetes node to label, taint or pass flags to.
    for (const key of ["labels", "taints", "k3s_extra_flags"]) {
      const given = f.get(key);
      if (given && given.node !== null) r.report(given.pos, given.path, "does not apply to role none (no k3s runs there); remove it");
    }
  }
  const buildFallback = r.oneOf(f.get("build_fallback"), BUILD_FALLBACKS);
  const node: NodeSpec = {
    name,
    address: address ?? "",
    role: role ?? "agent",
    init,
    interface: iface ?? "",
    system,
    // Without boot settings an error is reported, so this placeholder never reaches a valid inventory.
    boot: boot ?? { loader: "extlinux" },
    labels: readLabels(r, f.get("labels")),
    taints: readTaints(r, f.get("taints")),
    checks: readNodeChecks(r, f.get("checks")),
    k3sExtraFlags: r.stringList(f.get("k3s_extra_flags")) ?? [],
    ...(buildFallback !== undefined ? { buildFallback } : {}),
  };
  return node;
}

export function readNodes(r: YamlReader, loc: Located | undefined, root: Located, defaults: NodeDefaults): NodeSpec[] {
  if (!loc) {
    r.report(root.pos, "nodes", "is required (at least one node)");
    return [];
  }
  const entries = r.map(loc, "any");
  if (!entries) return [];
  if (entries.size === 0) r.report(loc.pos, "nodes", "needs at least one node");
  const nodes: NodeSpec[] = [];
  const reported = new Set<string>();
  for (const [name, nodeLoc] of entries) {
    const node = readNode(r, name, nodeLoc, defaults, reported);
    if (node) nodes.push(node);
  }
  return nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
