// Test helper (excluded from the build): a CliContext that records what a command prints, with Ctrl-C by hand.
import { PassThrough } from "node:stream";
import type { CliContext } from "./cli-context.js";

export type TestContext = CliContext & { readonly out: string[]; readonly abort: AbortController; text(): string };

export function testContext(options: { isTTY?: boolean } = {}): TestContext {
  const abort = new AbortController();
  const out: string[] = [];
  return {
    out,
    abort,
    text: () => out.join(""),
    stdout: { write: (s: string) => out.push(s), isTTY: options.isTTY ?? false },
    stderr: { write: () => true },
    stdin: new PassThrough(),
    env: {},
    cwd: "/",
    home: "/",
    now: () => 0,
    signal: abort.signal,
    handlesInterrupt: false,
    exitCode: 0,
  };
}
