// nk-coordinator's command line: read the config, start, stop cleanly on SIGINT/SIGTERM.
import { Command } from "commander";
import { loadConfigFile } from "../../shared/src/config/index.js";
import { errorMessage, isNkError, NkError } from "../../shared/src/errors/index.js";
import { createLogger } from "../../shared/src/log/index.js";
import { stopOnSignals } from "../../shared/src/process/index.js";
import { NK_VERSION } from "../../shared/src/version/index.js";
import { COORDINATOR_FLAGS, coordinatorConfigSchema, withExplainedKeys } from "./config/index.js";
import { startCoordinator } from "./main.js";
import { waitForEtcd } from "./store/wait-for-etcd.js";

// grpc-js frames every message into a fresh buffer: ~5 KiB per node per push. Buffer's default 8 KiB pool serves
// only allocations under 4 KiB, so each took an ArrayBuffer of its own, whose external memory accounting cost ~60 µs
// apiece at 10,000 nodes (a tenth of a push's CPU); from 64 KiB slabs they are one per dozen.
Buffer.poolSize = 64 * 1024;

interface Flags {
  config?: string;
  stateDir?: string;
  grpcListen?: string;
  httpListen?: string;
  logLevel?: string;
}

async function run(argv: string[]): Promise<void> {
  const program = new Command("nk-coordinator")
    .description("nk coordinator: git remote, desired-config streaming, leases and status for a k3s cluster on NixOS")
    .version(NK_VERSION)
    .option("-c, --config <file>", "YAML config file (see coordinator/src/config/coordinator-config.ts)")
    .option("--state-dir <dir>", "state directory (overrides the config file)")
    .option("--grpc-listen <host:port>", "gRPC (agents, nkctl) listen address")
    .option("--http-listen <host:port>", "HTTP (git, status page, API) listen address")
    .option("--log-level <level>", "trace|debug|info|warn|error")
    .parse(argv);
  const flags = program.opts<Flags>();
  // Kubernetes access (or kube: none) has no flag: without a file the check below could only say "kube" is missing.
  if (flags.config === undefined) throw new NkError("CONFIG_INVALID", "no --config given: nk-coordinator --config <file> (a YAML file with at least kubeconfigFile: <path> or kube: none)");
  const config = await loadConfigFile(withExplainedKeys(coordinatorConfigSchema), flags.config, {
    stateDir: flags.stateDir,
    grpc: flags.grpcListen ? { listen: flags.grpcListen } : undefined,
    http: flags.httpListen ? { listen: flags.httpListen } : undefined,
    logLevel: flags.logLevel,
  }, COORDINATOR_FLAGS);
  const log = createLogger({ name: "nk-coordinator", level: config.logLevel });
  const start = () => startCoordinator(config, { log });
  // On etcd, a start that failed because etcd went away meanwhile is tried again (it stopped what it had started).
  const running = config.store.kind === "etcd" ? await waitForEtcd(start, config.store.endpoints, { log }) : await start();
  stopOnSignals(running);
}

run(process.argv).catch((err: unknown) => {
  process.stderr.write(`nk-coordinator: ${errorMessage(err)}\n`);
  process.exit(isNkError(err, "CONFIG_INVALID") ? 2 : 1);
});
