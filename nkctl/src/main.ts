// nkctl's entry point: parses argv, runs the command, and maps any error to `nkctl: <message>` and an exit code.
import { processContext, type CliContext } from "./cli-context.js";
import { runCli } from "./run-cli.js";
import { dropIpServernameWarning } from "../../shared/src/wire/index.js";

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
    return await runCli(argv, context);
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

process.exitCode = await main(process.argv);
