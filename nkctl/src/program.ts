// Builds the nkctl command tree: global options, help with config and exit codes, one group per file.
import { Command, Option } from "commander";
import { NK_VERSION } from "../../shared/src/version/index.js";
import { OUTPUT_FORMATS, type CliContext } from "./cli-context.js";
import { registerBuild } from "./build.js";
import { registerCompletion } from "./completion.js";
import { registerDiff } from "./diff.js";
import { registerEvents } from "./events.js";
import { EXIT_CODES_HELP } from "./exit-codes.js";
import { registerImport } from "./import.js";
import { registerLease } from "./lease.js";
import { registerManifests } from "./manifests.js";
import { registerNode } from "./node.js";
import { registerNodes } from "./nodes.js";
import { registerPin } from "./pin.js";
import { registerPlan } from "./plan.js";
import { registerRender } from "./render.js";
import { registerRenderInstaller } from "./render-installer.js";
import { registerRollout } from "./rollout.js";
import { registerSecret } from "./secret.js";
import { registerStatus } from "./status.js";
import { registerToken } from "./token.js";
import { registerAudit } from "./audit.js";
import { registerValidate } from "./validate.js";

const CONFIG_HELP = `Coordinator settings (flags > environment > config file):
  --coordinator / NK_COORDINATOR / coordinator:   host:port (default port 7443)
  --token-file / NK_TOKEN (the token itself) or NK_TOKEN_FILE / tokenFile:   the admin token
  --ca-file / NK_CA_FILE / caFile:   the coordinator's CA certificate (pinned)
  config file: $XDG_CONFIG_HOME/nk/config.yaml (default ~/.config/nk/config.yaml);
  relative paths in it are relative to the file.
validate, render, diff, import and pin work offline (pin fetches with your nix); the other commands need the coordinator.`;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command("nkctl")
    .description("operate an nk cluster: check and render the inventory offline, drive rollouts and leases online")
    .version(NK_VERSION, "-V, --version")
    .addOption(new Option("-o, --output <format>", "table or wide (more columns) for humans, json or yaml for scripts").choices([...OUTPUT_FORMATS]).default("table"))
    .option("--coordinator <host:port>", "the coordinator's gRPC address")
    .option("--token-file <path>", "file holding the admin token")
    .option("--ca-file <path>", "the coordinator's CA certificate (PEM)")
    .option("--insecure", "plaintext gRPC without TLS (test setups only)")
    .addHelpText("after", `\n${CONFIG_HELP}\n\n${EXIT_CODES_HELP}\n`)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.stdout.write(s),
      writeErr: (s) => void ctx.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, "nkctl: ")),
    });
  registerValidate(program, ctx);
  registerRender(program, ctx);
  registerRenderInstaller(program, ctx);
  registerDiff(program, ctx);
  registerImport(program, ctx);
  registerPin(program, ctx);
  registerStatus(program, ctx);
  registerNodes(program, ctx);
  registerEvents(program, ctx);
  registerNode(program, ctx);
  registerSecret(program, ctx);
  registerToken(program, ctx);
  registerAudit(program, ctx);
  registerLease(program, ctx);
  registerRollout(program, ctx);
  registerManifests(program, ctx);
  registerPlan(program, ctx);
  registerBuild(program, ctx);
  // Last: it describes every command registered above.
  registerCompletion(program, ctx);
  return program;
}
