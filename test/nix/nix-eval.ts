// Evaluates Nix expressions for the NixOS module tests: stub lib and pkgs (test/nix/*.nix), no nixpkgs, no store, no daemon.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { nixString } from "../../shared/src/render/index.js";

const run = promisify(execFile);

export const REPO = join(import.meta.dirname, "../..");
export const NIX_DIR = import.meta.dirname;

/** `nix-instantiate --eval --strict --json` of `expr`, parsed. */
export async function nixEval<T = unknown>(expr: string): Promise<T> {
  const { stdout } = await run("nix-instantiate", ["--eval", "--strict", "--json", "--expr", expr], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as T;
}

/** The error Nix prints for an expression that must fail (throws if it evaluates). */
export async function nixEvalError(expr: string): Promise<string> {
  try {
    await run("nix-instantiate", ["--eval", "--strict", "--json", "--expr", expr]);
  } catch (err) {
    return (err as { stderr: string }).stderr;
  }
  throw new Error(`expected evaluation to fail: ${expr}`);
}

/** A JSON value as a Nix expression (for settings without Nix paths). */
export function nixValue(value: unknown): string {
  return `(builtins.fromJSON ${nixString(JSON.stringify(value))})`;
}

/**
 * test/nix/eval-module.nix applied to nixos-module/<name>.nix with `settings` (a Nix expression);
 * `pkgsOverride` (a Nix expression) replaces stub packages, e.g. to see a script's text where its path would be.
 */
export function moduleExpr(name: "agent" | "coordinator", settings: string, hostName = "stub-host", pkgsOverride = "{ }"): string {
  return `(import ${join(NIX_DIR, "eval-module.nix")} { module = ${join(REPO, "nixos-module", `${name}.nix`)}; settings = ${settings}; hostName = ${nixString(hostName)}; pkgsOverride = ${pkgsOverride}; })`;
}

/** pkgsOverride that makes every pkgs.writeShellScript evaluate to the script's text instead of its store path. */
export const SCRIPTS_AS_TEXT = "{ writeShellScript = name: text: text; }";

/** Shorthand: evaluate `select` (e.g. ".config.systemd") of the module evaluated with JSON settings. */
export async function evalModule<T = unknown>(name: "agent" | "coordinator", settings: unknown, select: string, hostName?: string): Promise<T> {
  return nixEval<T>(`${moduleExpr(name, nixValue(settings), hostName)}${select}`);
}

export interface Unit {
  readonly description: string;
  readonly wantedBy?: string[];
  readonly restartIfChanged?: boolean;
  readonly stopIfChanged?: boolean;
  readonly startLimitIntervalSec?: number;
  readonly path: string[];
  readonly environment: Record<string, string>;
  readonly serviceConfig: Record<string, unknown>;
}

export interface Evaluated {
  readonly options: Record<string, { type: string; default?: unknown }>;
  readonly config: {
    systemd: { services: Record<string, Unit>; timers?: Record<string, { wantedBy: string[]; timerConfig: Record<string, string> }> };
    system?: { activationScripts: Record<string, { text: string }> };
    environment: { etc: Record<string, { source: string }>; systemPackages?: unknown[] };
    networking?: { firewall: { allowedTCPPorts: number[] } };
  };
  readonly etcText: Record<string, string>;
  readonly failedAssertions: string[];
}

/** One nk module evaluated with `enable = true` plus `service` settings. */
export async function evaluate(name: "agent" | "coordinator", service: Record<string, unknown>, hostName?: string): Promise<Evaluated> {
  const key = name === "agent" ? "nk-agent" : "nk-coordinator";
  return evalModule<Evaluated>(name, { services: { [key]: { enable: true, ...service } } }, "", hostName);
}

/** The JSON a module writes to environment.etc.<file>, parsed. */
export const unitJson = (e: Evaluated, file: string): unknown => JSON.parse(e.etcText[file] ?? "null");
