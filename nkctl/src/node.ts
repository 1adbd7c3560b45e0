// `nkctl node enroll <name>`: a one-time agent token for a node, and how to install it there.
import type { Command } from "commander";
import { NkError } from "../../shared/src/errors/index.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { emit } from "./output.js";
import { isNodeName } from "../../shared/src/names/index.js";

/** Defaults of services.nk-agent.tokenFile and caFile in nixos-module/agent.nix. */
export const AGENT_TOKEN_PATH = "/etc/nk/token";
export const AGENT_CA_PATH = "/etc/nk/ca.pem";

export function enrollInstructions(node: string, token: string, coordinator: string): string {
  return `Token for node ${node} (shown once; the coordinator keeps only its hash):

  ${token}

Install it on ${node} as root, readable by root only:

  install -d -m 0755 /etc/nk
  (umask 077; printf '%s\\n' '${token}' > ${AGENT_TOKEN_PATH})

${AGENT_TOKEN_PATH} is the default services.nk-agent.tokenFile; the agent also needs the coordinator's
CA certificate at ${AGENT_CA_PATH} and the coordinator address (${coordinator}) in /etc/nk/agent.local.json.
Enrolling again replaces the token; the old one stops working.
`;
}

export function registerNode(program: Command, ctx: CliContext): void {
  const group = program.command("node").description("node enrollment and token rotation");
  group
    .command("enroll")
    .description("create a one-time agent token for a node (replaces any earlier token)")
    .argument("<name>", "the node's name in the inventory")
    .action(async (name: string, _opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      if (!isNodeName(name)) throw new NkError("INVALID_ARGUMENT", `"${name}" is not a node name (a DNS label: lower-case letters, digits, '-')`);
      const { res, address } = await withAdmin(ctx, globals, async (api) => ({ res: await api.enrollNode(name), address: api.address }));
      emit(ctx, globals.output, { node: res.node, token: res.token, tokenPath: AGENT_TOKEN_PATH }, () => enrollInstructions(res.node, res.token, address));
    });
  group
    .command("rotate-token")
    .description("a new agent token for an enrolled node; the old one is refused at once (the node stays enrolled)")
    .argument("<name>", "the node's name")
    .action(async (name: string, _opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      if (!isNodeName(name)) throw new NkError("INVALID_ARGUMENT", `"${name}" is not a node name (a DNS label: lower-case letters, digits, '-')`);
      const { res, address } = await withAdmin(ctx, globals, async (api) => ({ res: await api.rotateNodeToken(name), address: api.address }));
      emit(ctx, globals.output, { node: res.node, token: res.token, tokenPath: AGENT_TOKEN_PATH }, () => enrollInstructions(res.node, res.token, address));
    });
}
