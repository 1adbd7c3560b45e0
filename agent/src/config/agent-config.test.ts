import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfigFile } from "../../../shared/src/config/index.js";
import { agentConfigSchema } from "./agent-config.js";
import { AGENT_FLAGS } from "./agent-flags.js";

const MINIMAL = { node: "n1", coordinators: ["coord.lan:7443"], caFile: "/etc/nk/ca.pem", tokenFile: "/etc/nk/token" };
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nk-agent-config-"));
  dirs.push(dir);
  await writeFile(join(dir, name), text);
  return join(dir, name);
}

describe("agent config", () => {
  it("fills every default", () => {
    expect(agentConfigSchema.parse(MINIMAL)).toEqual({
      ...MINIMAL,
      stateDir: "/var/lib/nk-agent",
      secretsDir: "/run/nk/secrets",
      system: { kind: "nixos", hardwareConfig: "/etc/nixos/hardware-configuration.nix" },
      healthChecks: [],
      reportIntervalSeconds: 30,
      logLevel: "info",
    });
    const sim = agentConfigSchema.parse({ ...MINIMAL, system: { kind: "sim", dir: "/tmp/m" }, healthChecks: [{ name: "zfs", command: ["zpool", "status", "-x"] }], coordinators: ["[fd00::2]:7443", "a.lan:1"] });
    expect(sim.system).toEqual({ kind: "sim", dir: "/tmp/m", timeScale: 1 });
    expect(sim.healthChecks).toEqual([{ name: "zfs", command: ["zpool", "status", "-x"], expect: "", timeoutSeconds: 30 }]);
    expect(sim.coordinators).toEqual(["[fd00::2]:7443", "a.lan:1"]);
  });

  it("names every bad field with what was expected and how to fix it", async () => {
    const path = await file(
      "agent.json",
      JSON.stringify({
        node: "Bad_Name",
        coordinators: ["coord.lan"],
        tokenFile: "",
        stateDir: 5,
        system: { kind: "sim", timeScale: 0 },
        healthChecks: [{ name: "x", command: [] }, "zpool"],
        reportIntervalSeconds: 0.5,
        logLevel: "loud",
        tokenfile: "/etc/nk/token",
      }),
    );
    await expect(loadConfigFile(agentConfigSchema, path)).rejects.toThrow(
      [
        `${path} is invalid:`,
        "  tokenfile: unknown key (expected one of node, coordinators, caFile, tokenFile, stateDir, secretsDir, system, builder, healthChecks, reportIntervalSeconds, logLevel); remove it or fix its spelling",
        `  node: expected the node's name (a DNS label: lower-case letters, digits, '-'); got "Bad_Name"`,
        `  coordinators.0: expected host:port with a port from 1 to 65535, e.g. coordinator.lan:7443; got "coord.lan"`,
        `  caFile: missing: the coordinator CA's PEM file to pin (set caFile, or pass --ca-file; "insecure" only for plaintext test setups)`,
        `  tokenFile: expected a non-empty string; got "" (the file holding this node's enrollment token from \`nkctl node enroll\` (set tokenFile, or pass --token-file))`,
        "  stateDir: expected a string; got 5",
        "  system.dir: missing: the simulated machine's directory (set system.dir, or pass --sim-dir)",
        "  system.timeScale: expected a positive number (1 runs simulated steps in real time); got 0",
        "  healthChecks.0.command: got an empty list: expected the command and its arguments, e.g. [zpool, status, -x]",
        '  healthChecks.1: expected a check: {name, command, expect?, timeoutSeconds?}; got "zpool"',
        "  reportIntervalSeconds: expected an integer from 1 to 3600 (how often the agent reports, in seconds); got 0.5",
        '  logLevel: expected one of trace, debug, info, warn, error, fatal, silent (the log level); got "loud"',
      ].join("\n"),
    );
  });

  it("refuses a config that is not a mapping, a system without kind, and no coordinators", () => {
    expect(agentConfigSchema.safeParse([1])).toEqual({ success: false, error: { issues: [expect.objectContaining({ path: [], message: "expected a mapping of agent settings (see agent/src/config/agent-config.ts); got a list ([1])" })] } });
    const r = agentConfigSchema.safeParse({ ...MINIMAL, coordinators: [], system: { hardwareConfig: "/x" } });
    expect(r.success ? [] : r.error.issues).toEqual([
      { path: ["coordinators"], message: "expected at least one coordinator host:port (set coordinators, or pass --coordinator); got an empty list" },
      { path: ["system", "kind"], message: "missing: the system the agent drives, one of nixos, sim" },
    ]);
  });

  it("blames --sim-dir, not the file, for settings the simulator does not take, and says where the file gave them", async () => {
    const nixos = await file("agent.yaml", "node: n1\ncoordinators: [coord.lan:7443]\ncaFile: /ca\ntokenFile: /t\nsystem:\n  kind: nixos\n  hardwareConfig: /etc/hw.nix\nbuilder:\n  keyFile: /k\n");
    expect(await loadConfigFile(agentConfigSchema, nixos, {}, AGENT_FLAGS)).toMatchObject({ system: { kind: "nixos" }, builder: { keyFile: "/k" } });
    await expect(loadConfigFile(agentConfigSchema, nixos, { system: { kind: "sim", dir: "/m" } }, AGENT_FLAGS)).rejects.toThrow(
      [
        `${nixos} and the command line are invalid:`,
        `  system.hardwareConfig (${nixos}:7) and --sim-dir: unknown key with system.kind "sim" (expected one of kind, dir, timeScale, lanDir); remove it or fix its spelling`,
        `  builder (${nixos}:8) and --sim-dir: missing: the public key the simulated builds are signed as (builders mode under the simulator): set builder.simPublicKey, or drop builder`,
      ].join("\n"),
    );
    // The same rule with the simulator set in the file blames only the file.
    const sim = await file("agent.yaml", "node: n1\ncoordinators: [coord.lan:7443]\ncaFile: /ca\ntokenFile: /t\nsystem: {kind: sim, dir: /m}\nbuilder: {keyFile: /k}\n");
    await expect(loadConfigFile(agentConfigSchema, sim, {}, AGENT_FLAGS)).rejects.toThrow(`${sim} is invalid:\n  builder (${sim}:6) and system.kind (${sim}:5): missing: the public key`);
  });

  it("reads JSON without the YAML parser and YAML with it; command-line values win; a repeated key is still refused", async () => {
    const json = await file("agent.json", JSON.stringify({ ...MINIMAL, logLevel: "debug", system: { kind: "sim", dir: "/m", timeScale: 0.05 } }));
    expect(await loadConfigFile(agentConfigSchema, json, { node: "n2", system: { dir: "/other" } })).toMatchObject({ node: "n2", logLevel: "debug", system: { kind: "sim", dir: "/other", timeScale: 0.05 } });
    const yaml = await file("agent.yaml", "node: n1\ncoordinators: [coord.lan:7443]\ncaFile: /ca\ntokenFile: /t\n");
    expect(await loadConfigFile(agentConfigSchema, yaml)).toMatchObject({ node: "n1", coordinators: ["coord.lan:7443"] });
    const repeated = await file("agent.json", '{"node": "n1", "node": "n2", "text": "a \\"quoted\\": b"}');
    await expect(loadConfigFile(agentConfigSchema, repeated)).rejects.toThrow(`${repeated} is not valid YAML (nor JSON): Map keys must be unique`);
  });
});
