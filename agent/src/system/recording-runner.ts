// A CommandRunner for tests of the real drivers: records every argv and answers from a script.
import type { CommandResult, CommandRunner, RunOptions } from "./command-runner.js";

type Matcher = string | ((argv: readonly string[]) => boolean);

interface Rule {
  readonly match: (argv: readonly string[]) => boolean;
  readonly results: Partial<CommandResult>[];
}

export interface RecordedCall {
  readonly argv: readonly string[];
  readonly opts: RunOptions;
}

export class RecordingRunner implements CommandRunner {
  readonly calls: RecordedCall[] = [];
  private readonly rules: Rule[] = [];

  /**
   * Answer commands whose joined argv starts with `match` (or satisfies it). Several results are
   * used in turn, the last one repeats. Later rules win over earlier ones.
   */
  on(match: Matcher, ...results: Partial<CommandResult>[]): this {
    const fn = typeof match === "string" ? (argv: readonly string[]) => argv.join(" ").startsWith(match) : match;
    this.rules.unshift({ match: fn, results: results.length > 0 ? results : [{}] });
    return this;
  }

  /** Every command line run so far, words joined by one space. */
  lines(): string[] {
    return this.calls.map((c) => c.argv.join(" "));
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    opts.signal?.throwIfAborted();
    this.calls.push({ argv: [...argv], opts });
    const rule = this.rules.find((r) => r.match(argv));
    const next = rule ? (rule.results.length > 1 ? rule.results.shift()! : rule.results[0]!) : {};
    return { exitCode: next.exitCode ?? 0, stdout: next.stdout ?? "", stderr: next.stderr ?? "" };
  }
}
