// Runs one nkctl command line in a given context: the command tree, and any error mapped to `nkctl: <message>` and
// an exit code. main.ts wires it to the process (argv, streams, Ctrl-C); tests call it in-process with their own context.
import { CommanderError } from "commander";
import { errorMessage, isNkError } from "../../shared/src/errors/index.js";
import type { CliContext } from "./cli-context.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { buildProgram } from "./program.js";

/** Help and --version exit 0; every other parser complaint (already printed by commander) is a usage error. */
function commanderExit(err: CommanderError): number {
  return err.code === "commander.helpDisplayed" || err.code === "commander.version" ? EXIT.OK : EXIT.USAGE;
}

/** The one top-level catch of nkctl. */
export function reportError(ctx: CliContext, err: unknown): number {
  if (err instanceof CommanderError) return commanderExit(err);
  ctx.stderr.write(`nkctl: ${errorMessage(err)}\n`);
  if (!isNkError(err) && ctx.env.NK_DEBUG && err instanceof Error && err.stack) ctx.stderr.write(`${err.stack}\n`);
  return exitCodeFor(err);
}

/** `argv` as process.argv has it (node, script, then the arguments); resolves with the exit code. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    await buildProgram(ctx).parseAsync([...argv]);
    return ctx.exitCode;
  } catch (err) {
    return reportError(ctx, err);
  }
}
