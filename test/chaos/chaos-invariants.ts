// The chaos invariants over independent observations: cordon windows from the fake kube-apiserver, reboots
// seen on the simulated machines and by the supervisor, the machines' running systems, the bare repo.
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { readFaults, type FaultKind, type Faults } from "../../agent/src/system/index.js";
import { SIM_REBOOT_EXIT_CODE } from "../../agent/src/system/index.js";
import type { DisruptionWindow } from "../support/disruption-windows.js";
import type { BootChange, ExitRecord } from "./chaos-recorder.js";
import { poolExcess, type Limits } from "./lease-journal.js";

const run = promisify(execFile);
const at = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 23) : "never");

/** Never more cordoned nodes at one instant than the limits allow (servers and each pool counted on their own too). */
export function concurrencyViolations(windows: readonly DisruptionWindow[], limits: Limits, isServer: (node: string) => boolean): string[] {
  const points = windows.flatMap((w) => [{ t: w.fromMs, d: 1, w }, { t: w.toMs, d: -1, w }]).sort((a, b) => a.t - b.t || a.d - b.d);
  const open = new Set<DisruptionWindow>();
  const out: string[] = [];
  for (const p of points) {
    if (p.d < 0) {
      open.delete(p.w);
      continue;
    }
    open.add(p.w);
    const nodes = [...open].map((w) => w.node);
    const servers = nodes.filter(isServer);
    if (nodes.length > limits.total) out.push(`${at(p.t)}: ${nodes.length} nodes cordoned at once (${nodes.join(", ")}) > max_unavailable ${limits.total}`);
    else if (servers.length > limits.servers) out.push(`${at(p.t)}: ${servers.length} servers cordoned at once (${servers.join(", ")}) > max_unavailable_servers ${limits.servers}`);
    out.push(...poolExcess(limits.pools, nodes, at(p.t)));
  }
  return out;
}

/** Every simulated reboot (agent exit 75, or a boot-id change) falls inside a cordon window of that node. */
export function rebootViolations(exits: readonly ExitRecord[], changes: readonly BootChange[], windows: readonly DisruptionWindow[]): string[] {
  const of = (node: string) => windows.filter((w) => w.node === node);
  const out: string[] = [];
  for (const e of exits) {
    if (e.code !== SIM_REBOOT_EXIT_CODE) continue;
    if (!of(e.node).some((w) => w.fromMs <= e.atMs && e.atMs <= w.toMs)) out.push(`${e.node} rebooted (agent exit ${e.code}) at ${at(e.atMs)} outside any cordon window of it`);
  }
  for (const c of changes) {
    if (!of(c.node).some((w) => w.fromMs <= c.atMs && c.afterMs <= w.toMs)) out.push(`${c.node}'s boot id changed between ${at(c.afterMs)} and ${at(c.atMs)}, outside any cordon window of it`);
  }
  return out;
}

/** What a simulated machine runs, read from its directory. */
export interface MachineView {
  readonly currentSystem: string;
  readonly bootDefault: string;
  /** "switch" or "boot": how the running system was reached. */
  readonly activatedBy: string;
  readonly currentSha256: string | null;
  /** System path of every generation, oldest first. */
  readonly generationSystems: string[];
  /** The bundle of the newest generation (null for the initial system). */
  readonly newestSha256: string | null;
  readonly faults: Faults;
}

export async function readMachine(dir: string): Promise<MachineView> {
  const text = (rel: string) => readFile(join(dir, rel), "utf8").then((s) => s.trim());
  const bundleOf = async (system: string) =>
    (JSON.parse(await text(join("store", system.slice(system.lastIndexOf("/") + 1), "meta.json"))) as { bundleSha256: string | null }).bundleSha256;
  const currentSystem = await text("current-system");
  const gens = (await readdir(join(dir, "generations"))).map(Number).filter(Number.isInteger).sort((a, b) => a - b);
  const generationSystems = await Promise.all(gens.map((g) => text(join("generations", String(g), "system"))));
  return {
    currentSystem,
    bootDefault: await text(join("generations", await text("boot-default"), "system")),
    activatedBy: await text("activated-by"),
    currentSha256: await bundleOf(currentSystem),
    generationSystems,
    newestSha256: await bundleOf(generationSystems.at(-1)!),
    faults: await readFaults(dir),
  };
}

function unhealthyNow(m: MachineView): boolean {
  if (m.currentSha256 === null) return false;
  const kind: FaultKind = m.activatedBy === "switch" ? "unhealthy-after-switch" : "unhealthy-after-reboot";
  const kinds = [...(m.faults[m.currentSha256] ?? []), ...(m.faults["*"] ?? [])];
  return kinds.includes(kind) || kinds.includes("activation-error") || kinds.includes("build-error");
}

/**
 * Once quiet (faults still injected): no node runs a bad bundle, every node boots into what it runs,
 * and a node that rolled back runs a generation it had run before, not the bundle it rolled back from.
 * A node that refused a bundle it had rolled back from before ("rolled back" without building it again) may rest
 * on its newest generation: what it ran when the known-bad bundle came back.
 */
export function settledViolations(node: string, m: MachineView, rolledBackFrom: string | null): string[] {
  const out: string[] = [];
  if (unhealthyNow(m)) out.push(`${node} settled on bundle ${m.currentSha256?.slice(0, 12)}, which is bad (${JSON.stringify(m.faults[m.currentSha256 ?? ""])}, reached by ${m.activatedBy})`);
  if (m.bootDefault !== m.currentSystem) out.push(`${node} runs ${m.currentSystem} but would boot ${m.bootDefault}`);
  if (rolledBackFrom !== null) {
    if (m.currentSha256 === rolledBackFrom) out.push(`${node} reports rolled back but still runs ${rolledBackFrom.slice(0, 12)}`);
    const before = m.newestSha256 === rolledBackFrom ? m.generationSystems.slice(0, -1) : m.generationSystems;
    if (!before.includes(m.currentSystem)) out.push(`${node} rolled back onto ${m.currentSystem}, which is no generation of it before ${rolledBackFrom.slice(0, 12)}`);
  }
  return out;
}

/** After the final push: the machine runs (and would boot) exactly the bundle rendered from the newest commit. */
export function convergedViolations(node: string, m: MachineView, expectedSha256: string): string[] {
  const out: string[] = [];
  if (m.currentSha256 !== expectedSha256) out.push(`${node} runs bundle ${m.currentSha256?.slice(0, 12) ?? "initial"}, expected ${expectedSha256.slice(0, 12)} of the newest revision`);
  if (m.bootDefault !== m.currentSystem) out.push(`${node} runs ${m.currentSystem} but would boot ${m.bootDefault}`);
  return out;
}

/** Every acknowledged push is in the coordinator's bare repo, on main. */
export async function missingPushes(stateDir: string, acked: readonly string[]): Promise<string[]> {
  if (acked.length === 0) return [];
  const gitDir = join(stateDir, "repo", "inventory.git");
  const { stdout } = await run("git", ["--git-dir", gitDir, "rev-list", "refs/heads/main"], { maxBuffer: 64 * 1024 * 1024 });
  const onMain = new Set(stdout.split("\n").filter(Boolean));
  return acked.filter((sha) => !onMain.has(sha)).map((sha) => `acknowledged push ${sha.slice(0, 12)} is not on main in the coordinator's repo`);
}

/** Every enrolled node is still in state.json. */
export async function missingNodes(stateDir: string, nodes: readonly string[]): Promise<string[]> {
  const state = JSON.parse(await readFile(join(stateDir, "state.json"), "utf8")) as { nodes: Record<string, { tokenHash?: string }> };
  return nodes.filter((n) => !state.nodes[n]?.tokenHash).map((n) => `enrolled node ${n} is missing from state.json`);
}
