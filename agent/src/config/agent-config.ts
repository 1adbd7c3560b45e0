// The agent's configuration schema: every field, its default, checked at start by hand (no zod: the agent
// idles on every node and zod alone costs it ~8 MiB; bench/agent-footprint).
import { checkConfig, type ConfigIssue, type ConfigSchema } from "../../../shared/src/config/index.js";
import { DNS_LABEL, HOST_PORT } from "../../../shared/src/names/index.js";
import { ConfigReader } from "./config-reader.js";

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
const NIXOS_HARDWARE_CONFIG = "/etc/nixos/hardware-configuration.nix";

export interface NodeCheckConfig {
  readonly name: string;
  readonly command: string[];
  readonly expect: string;
  readonly timeoutSeconds: number;
}

export type SystemConfig =
  | { readonly kind: "nixos"; readonly hardwareConfig: string }
  | { readonly kind: "sim"; readonly dir: string; readonly timeScale: number; readonly lanDir?: string };

/**
 * Builders mode: this node builds other nodes' systems (when cluster.build.builders lists it). keyFile is the secret
 * signing key (mode 0600), read by nix store sign; under the simulator, simPublicKey is what the builds are signed as.
 */
export interface BuilderConfig {
  readonly keyFile: string;
  readonly workDir: string;
  readonly simPublicKey?: string;
}

export interface AgentConfig {
  /** This node's name in the inventory. */
  readonly node: string;
  /** Every coordinator; the agent fails over between them. */
  readonly coordinators: string[];
  /** PEM of the coordinator CA (pinned); "insecure" only for plaintext test setups. */
  readonly caFile: string;
  /** The node's enrollment token (nkctl node enroll); only as a file. */
  readonly tokenFile: string;
  readonly stateDir: string;
  /** Where fetched secrets are written (0600), outside the Nix store. */
  readonly secretsDir: string;
  readonly system: SystemConfig;
  readonly builder?: BuilderConfig;
  /** Extra local checks, besides the inventory's node checks. */
  readonly healthChecks: NodeCheckConfig[];
  readonly reportIntervalSeconds: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

/** What a config file may hold: the required fields, the rest optional with the defaults below. */
export type AgentConfigInput = Pick<AgentConfig, "node" | "coordinators" | "caFile" | "tokenFile"> &
  Partial<Omit<AgentConfig, "node" | "coordinators" | "caFile" | "tokenFile" | "system" | "builder" | "healthChecks">> & {
    readonly system?: { kind: "nixos"; hardwareConfig?: string } | { kind: "sim"; dir: string; timeScale?: number; lanDir?: string };
    readonly builder?: Pick<BuilderConfig, "keyFile"> & Partial<BuilderConfig>;
    readonly healthChecks?: (Pick<NodeCheckConfig, "name" | "command"> & Partial<NodeCheckConfig>)[];
  };

function readSystem(r: ConfigReader): SystemConfig | undefined {
  if (!r.mapping(["system"], "a mapping with kind: nixos or kind: sim")) return undefined;
  const kind = r.oneOf(["system", "kind"], ["nixos", "sim"], "the system the agent drives");
  if (kind === "sim") {
    r.onlyKeys(["system"], ["kind", "dir", "timeScale", "lanDir"], ["system", "kind"]);
    const dir = r.text(["system", "dir"], { required: "the simulated machine's directory (set system.dir, or pass --sim-dir)" });
    const timeScale = r.number(["system", "timeScale"], 1, { positive: true, hint: "1 runs simulated steps in real time" });
    const lanDir = r.has(["system", "lanDir"]) ? r.text(["system", "lanDir"], { expected: "the simulated LAN's directory (a non-empty path)" }) : undefined;
    return { kind, dir, timeScale, ...(lanDir !== undefined ? { lanDir } : {}) };
  }
  if (kind === "nixos") {
    r.onlyKeys(["system"], ["kind", "hardwareConfig"], ["system", "kind"]);
    return { kind, hardwareConfig: r.text(["system", "hardwareConfig"], { fallback: NIXOS_HARDWARE_CONFIG, allowEmpty: true }) };
  }
  return undefined;
}

function readBuilder(r: ConfigReader, system: SystemConfig | undefined): BuilderConfig | undefined {
  if (!r.mapping(["builder"], "a mapping {keyFile, workDir?, simPublicKey?} (builders mode)")) return undefined;
  r.onlyKeys(["builder"], ["keyFile", "workDir", "simPublicKey"]);
  const keyFile = r.text(["builder", "keyFile"], { required: "the secret key builds are signed with, a file of mode 0600 (set builder.keyFile)" });
  const workDir = r.text(["builder", "workDir"], { fallback: "/var/lib/nk-agent/builds" });
  const simPublicKey = r.has(["builder", "simPublicKey"]) ? r.text(["builder", "simPublicKey"], { expected: "the public key the simulated builds are signed as" }) : undefined;
  // The simulator's builds are signed as this key; the system may be the simulator by --sim-dir, not the file.
  if (system?.kind === "sim" && simPublicKey === undefined) {
    r.fail(["builder", "simPublicKey"], "missing: the public key the simulated builds are signed as (builders mode under the simulator): set builder.simPublicKey, or drop builder", ["builder", "system.kind"]);
  }
  return { keyFile, workDir, ...(simPublicKey !== undefined ? { simPublicKey } : {}) };
}

function readHealthCheck(r: ConfigReader, i: number): NodeCheckConfig | undefined {
  const at = ["healthChecks", i];
  if (!r.mapping(at, "a check: {name, command, expect?, timeoutSeconds?}")) return undefined;
  r.onlyKeys(at, ["name", "command", "expect", "timeoutSeconds"]);
  return {
    name: r.text([...at, "name"], { required: "the check's name" }),
    command: r.textList([...at, "command"], "the command and its arguments, e.g. [zpool, status, -x]"),
    expect: r.text([...at, "expect"], { fallback: "", allowEmpty: true }),
    timeoutSeconds: r.number([...at, "timeoutSeconds"], 30, { integer: true, positive: true, hint: "seconds before the check counts as failed" }),
  };
}

/** Checks a merged config (file + command line), filling defaults; every problem is reported, not just the first. */
export function checkAgentConfig(raw: unknown): { success: true; data: AgentConfig } | { success: false; error: { issues: ConfigIssue[] } } {
  const r = new ConfigReader(raw, "a mapping of agent settings (see agent/src/config/agent-config.ts)");
  if (r.issues.length > 0) return { success: false, error: { issues: r.issues } };
  r.onlyKeys([], ["node", "coordinators", "caFile", "tokenFile", "stateDir", "secretsDir", "system", "builder", "healthChecks", "reportIntervalSeconds", "logLevel"]);
  const node = r.text(["node"], { required: "this node's name in the inventory (set node, or pass --node)", pattern: DNS_LABEL, expected: "the node's name (a DNS label: lower-case letters, digits, '-')" });
  const coordinators = r.list(["coordinators"], "at least one coordinator host:port (set coordinators, or pass --coordinator)", (i) =>
    r.text(["coordinators", i], { required: "a coordinator address", pattern: HOST_PORT, expected: "host:port with a port from 1 to 65535, e.g. coordinator.lan:7443" }),
  );
  const caFile = r.text(["caFile"], { required: 'the coordinator CA\'s PEM file to pin (set caFile, or pass --ca-file; "insecure" only for plaintext test setups)' });
  const tokenFile = r.text(["tokenFile"], { required: "the file holding this node's enrollment token from `nkctl node enroll` (set tokenFile, or pass --token-file)" });
  const stateDir = r.text(["stateDir"], { fallback: "/var/lib/nk-agent" });
  const secretsDir = r.text(["secretsDir"], { fallback: "/run/nk/secrets" });
  const system = r.has(["system"]) ? readSystem(r) : { kind: "nixos" as const, hardwareConfig: NIXOS_HARDWARE_CONFIG };
  const builder = r.has(["builder"]) ? readBuilder(r, system) : undefined;
  const healthChecks = r.has(["healthChecks"]) ? r.list(["healthChecks"], null, (i) => readHealthCheck(r, i)) : [];
  const reportIntervalSeconds = r.number(["reportIntervalSeconds"], 30, { integer: true, min: 1, max: 3600, hint: "how often the agent reports, in seconds" });
  const logLevel = r.oneOf(["logLevel"], LOG_LEVELS, "the log level", "info");
  if (r.issues.length > 0) return { success: false, error: { issues: r.issues } };
  // No issue means every reader above returned a checked value.
  const data: AgentConfig = { node, coordinators, caFile, tokenFile, stateDir, secretsDir, system: system!, ...(builder ? { builder } : {}), healthChecks: healthChecks as NodeCheckConfig[], reportIntervalSeconds, logLevel: logLevel! };
  return { success: true, data };
}

/** The schema loadConfigFile takes; `parse` throws the same message loadConfigFile would. */
export const agentConfigSchema: ConfigSchema<AgentConfig> & { parse(raw: unknown): AgentConfig } = {
  safeParse: checkAgentConfig,
  parse: (raw) => checkConfig(agentConfigSchema, raw, "the agent configuration"),
};
