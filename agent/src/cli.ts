// nk-agent's command line: read the config, start, stop cleanly on SIGINT/SIGTERM.
import { Command } from "commander";
import { loadConfigFile } from "../../shared/src/config/index.js";
import { errorMessage, isNkError } from "../../shared/src/errors/index.js";
import { stopOnSignals } from "../../shared/src/process/index.js";
import { NK_VERSION } from "../../shared/src/version/index.js";
import { AGENT_FLAGS, agentConfigSchema } from "./config/index.js";
import { startAgent } from "./main.js";
import { dropIpServernameWarning } from "../../shared/src/wire/index.js";

interface Flags {
  config?: string;
  node?: string;
  coordinator?: string[];
  caFile?: string;
  tokenFile?: string;
  stateDir?: string;
  simDir?: string;
  logLevel?: string;
}

async function run(argv: string[]): Promise<void> {
  dropIpServernameWarning();
  const program = new Command("nk-agent")
    .description("nk agent: pulls this node's NixOS config from the coordinator, applies it safely, reports")
    .version(NK_VERSION)
    .option("-c, --config <file>", "YAML or JSON config file (see agent/src/config/agent-config.ts)")
    .option("--node <name>", "this node's name in the inventory")
    .option("--coordinator <host:port...>", "coordinator address(es)")
    .option("--ca-file <file>", "the coordinator CA to pin")
    .option("--token-file <file>", "this node's enrollment token")
    .option("--state-dir <dir>", "state directory")
    .option("--sim-dir <dir>", "run against a simulated NixOS in this directory (demo, tests)")
    .option("--log-level <level>", "trace|debug|info|warn|error")
    .action(() => startFromFlags(program.opts<Flags>()));
  program
    .command("retry")
    .description("on this node: run a stuck rollback again, or try a refused bundle again (--bundle), in the running agent")
    .option("--bundle <sha256>", "a bundle this node refuses (rolled back, or its build failed): forget that and take the desired bundle again (a prefix of 6+ hex digits will do)")
    .option("--state-dir <dir>", "the agent's state directory (default: the stateDir of -c, else of /run/nk/agent.json, else /var/lib/nk-agent)")
    .action(async (opts: { bundle?: string; stateDir?: string }) => {
      const { retryCommand } = await import("./retry-command.js");
      // --state-dir and -c may come before `retry` too (the daemon's own flags): either place counts.
      const root = program.opts<Flags>();
      const stateDir = opts.stateDir ?? root.stateDir;
      const flags = { ...(opts.bundle !== undefined ? { bundle: opts.bundle } : {}), ...(stateDir !== undefined ? { stateDir } : {}), ...(root.config !== undefined ? { config: root.config } : {}) };
      process.stdout.write(`${await retryCommand(flags)}\n`);
    });
  await program.parseAsync(argv);
}

async function startFromFlags(f: Flags): Promise<void> {
  const config = await loadConfigFile(agentConfigSchema, f.config, {
    node: f.node,
    coordinators: f.coordinator,
    caFile: f.caFile,
    tokenFile: f.tokenFile,
    stateDir: f.stateDir,
    system: f.simDir ? { kind: "sim", dir: f.simDir } : undefined,
    logLevel: f.logLevel,
  }, AGENT_FLAGS);
  const running = await startAgent(config);
  stopOnSignals(running);
}

run(process.argv).catch((err: unknown) => {
  process.stderr.write(`nk-agent: ${errorMessage(err)}\n`);
  process.exit(isNkError(err, "CONFIG_INVALID") || isNkError(err, "INVALID_ARGUMENT") ? 2 : 1);
});
