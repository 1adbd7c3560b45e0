// nkctl's entry point: parses argv, runs the command, and maps any error to `nkctl: <message>` and an exit code.
import { CommanderError } from "commander";
import { errorMessage, isNkError } from "../../shared/src/errors/index.js";
import { processContext, type CliContext } from "./cli-context.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { buildProgram } from "./program.js";
import { dropIpServernameWarning } from "../../shared/src/wire/index.js";

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

export async function main(argv: readonly string[], ctx?: CliContext): Promise<number> {
  dropIpServernameWarning();
  const abort = new AbortController();
  const context = ctx ?? processContext(abort.signal);
  // Ctrl-C ends a follow stream cleanly (exit 0); anything else stops at once, as shells expect.
  const onSigint = (): void => {
    abort.abort();
    if (!context.handlesInterrupt) process.exit(130);
  };
  process.once("SIGINT", onSigint);
  // `nkctl events -f | head` closes the pipe early: that is the reader's choice, not an error.
  if (!ctx) process.stdout.on("error", (err: NodeJS.ErrnoException) => (err.code === "EPIPE" ? process.exit(context.exitCode) : undefined));
  try {
    await buildProgram(context).parseAsync([...argv]);
    return context.exitCode;
  } catch (err) {
    return reportError(context, err);
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

process.exitCode = await main(process.argv);
