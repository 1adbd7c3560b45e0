// The agent's configuration schema: every field, its default, checked at start.
import { z } from "zod";
import { DNS_LABEL } from "../../../shared/src/names/index.js";

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, "expected host:port, e.g. coordinator.lan:7443");

const nodeCheck = z.strictObject({
  name: z.string().min(1),
  command: z.array(z.string()).min(1),
  expect: z.string().default(""),
  timeoutSeconds: z.number().int().positive().default(30),
});

export const agentConfigSchema = z.strictObject({
  /** This node's name in the inventory. */
  node: z.string().regex(DNS_LABEL, "expected the node's name (a DNS label)"),
  /** Every coordinator; the agent fails over between them. */
  coordinators: z.array(hostPort).min(1),
  /** PEM of the coordinator CA (pinned); "insecure" only for plaintext test setups. */
  caFile: z.string().min(1),
  /** The node's enrollment token (nkctl node enroll); only as a file. */
  tokenFile: z.string().min(1),
  stateDir: z.string().min(1).default("/var/lib/nk-agent"),
  /** Where fetched secrets are written (0600), outside the Nix store. */
  secretsDir: z.string().min(1).default("/run/nk/secrets"),
  system: z
    .discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("nixos"), hardwareConfig: z.string().default("/etc/nixos/hardware-configuration.nix") }),
      z.strictObject({ kind: z.literal("sim"), dir: z.string().min(1), timeScale: z.number().positive().default(1), lanDir: z.string().min(1).optional() }),
    ])
    .default({ kind: "nixos", hardwareConfig: "/etc/nixos/hardware-configuration.nix" }),
  /**
   * Builders mode: this node builds other nodes' systems (when cluster.build.builders lists it). keyFile is the secret
   * signing key (mode 0600), read by nix store sign; under the simulator, simPublicKey is what the builds are signed as.
   */
  builder: z
    .strictObject({ keyFile: z.string().min(1), workDir: z.string().min(1).default("/var/lib/nk-agent/builds"), simPublicKey: z.string().min(1).optional() })
    .optional(),
  /** Extra local checks, besides the inventory's node checks. */
  healthChecks: z.array(nodeCheck).default([]),
  reportIntervalSeconds: z.number().int().min(1).max(3600).default(30),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type AgentConfigInput = z.input<typeof agentConfigSchema>;
