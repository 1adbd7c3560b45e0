// nkctl's entry point: parses argv, runs the command, and maps any error to `nkctl: <message>` and an exit code.
import { processContext, type CliContext } from "./cli-context.js";
import { runCli } from "./run-cli.js";
import { dropIpServernameWarning } from "../../shared/src/wire/index.js";

export async function main(argv: readonly string[], ctx?: CliContext): Promise<number> {
  dropIpServernameWarning();
  const abort = new AbortController();
  const context = ctx ?? processContext(abort.signal);
  // Ctrl-C ends a follow stream cleanly (exit 0), and a write into --out after putting the folder back (exit 130);
  // anything else stops at once, as shells expect. A second Ctrl-C does not cut such an ending short: it would leave a
  // node's folder renamed aside.
  const onSigint = (): void => {
    if (!context.handlesInterrupt) process.exit(130);
    if (abort.signal.aborted) context.stderr.write("nkctl: stopping; a moment, please\n");
    abort.abort();
  };
  process.on("SIGINT", onSigint);
  // `nkctl events -f | head` closes the pipe early: that is the reader's choice, not an error.
  if (!ctx) process.stdout.on("error", (err: NodeJS.ErrnoException) => (err.code === "EPIPE" ? process.exit(context.exitCode) : undefined));
  try {
    return await runCli(argv, context);
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

process.exitCode = await main(process.argv);
