// `nkctl node enroll <name>...`: a one-time agent token per node, and how to install it there.
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

/** Several nodes: a name and token per line, then how to install each (the same steps as for one node). */
export function enrollManyInstructions(enrolled: ReadonlyArray<{ node: string; token: string }>, coordinator: string): string {
  const width = Math.max(...enrolled.map((e) => e.node.length));
  return `Tokens for ${enrolled.length} nodes (shown once; the coordinator keeps only their hashes):

${enrolled.map((e) => `  ${e.node.padEnd(width)}  ${e.token}`).join("\n")}

Install each on its node as root, readable by root only, as ${AGENT_TOKEN_PATH} (umask 077; the default
services.nk-agent.tokenFile); each agent also needs the coordinator's CA certificate at ${AGENT_CA_PATH} and the
coordinator address (${coordinator}) in /etc/nk/agent.local.json. Enrolling again replaces a token.
`;
}

/** Names per EnrollNodes call (the coordinator takes up to 5,000): a rack of 10,000 is 10 calls. */
export const ENROLL_CHUNK = 1_000;
/** Calls in flight at once: the coordinator's store batches across them, so etcd round trips overlap. */
export const ENROLL_CALLS_IN_FLIGHT = 4;

/** Enrolls `names` in EnrollNodes calls of ENROLL_CHUNK, a few at once; the tokens in the order of `names`. */
export async function enrollInChunks(
  enrollNodes: (nodes: readonly string[]) => Promise<{ nodes: ReadonlyArray<{ node: string; token: string }> }>,
  names: readonly string[],
): Promise<Array<{ node: string; token: string }>> {
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += ENROLL_CHUNK) chunks.push(names.slice(i, i + ENROLL_CHUNK));
  const answers: Array<ReadonlyArray<{ node: string; token: string }>> = new Array(chunks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length) {
      const i = next++;
      answers[i] = (await enrollNodes(chunks[i]!)).nodes;
    }
  };
  await Promise.all(Array.from({ length: Math.min(ENROLL_CALLS_IN_FLIGHT, chunks.length) }, worker));
  return answers.flat().map((e) => ({ node: e.node, token: e.token }));
}

export function registerNode(program: Command, ctx: CliContext): void {
  const group = program.command("node").description("node enrollment and token rotation");
  group
    .command("enroll")
    .description("create a one-time agent token for each node (replaces any earlier token); several names enroll them together")
    .argument("<names...>", "the nodes' names in the inventory")
    .action(async (names: string[], _opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const bad = names.filter((n) => !isNodeName(n));
      if (bad.length > 0) throw new NkError("INVALID_ARGUMENT", `${bad.map((n) => `"${n}"`).join(", ")} ${bad.length === 1 ? "is not a node name" : "are not node names"} (a DNS label: lower-case letters, digits, '-')`);
      const seen = new Set<string>();
      const twice = [...new Set(names.filter((n) => seen.size === seen.add(n).size))];
      if (twice.length > 0) throw new NkError("INVALID_ARGUMENT", `node names given twice: ${twice.join(", ")}`);
      if (names.length === 1) {
        const { res, address } = await withAdmin(ctx, globals, async (api) => ({ res: await api.enrollNode(names[0]!), address: api.address }));
        return emit(ctx, globals.output, { node: res.node, token: res.token, tokenPath: AGENT_TOKEN_PATH }, () => enrollInstructions(res.node, res.token, address));
      }
      const { enrolled, address } = await withAdmin(ctx, globals, async (api) => ({ enrolled: await enrollInChunks((nodes) => api.enrollNodes(nodes), names), address: api.address }));
      emit(ctx, globals.output, enrolled.map((e) => ({ node: e.node, token: e.token, tokenPath: AGENT_TOKEN_PATH })), () => enrollManyInstructions(enrolled, address));
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
