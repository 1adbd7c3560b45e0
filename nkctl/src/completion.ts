// `nkctl completion bash|zsh|fish`: shell completion generated from the commander program, so it lists every command and option there is.
import { Argument, type Command, type Option } from "commander";
import type { CliContext } from "./cli-context.js";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** One command of the tree: its words from the root, subcommands, flags and the values of flags with choices. */
export interface CommandSpec {
  readonly path: readonly string[];
  readonly description: string;
  readonly subcommands: readonly { name: string; description: string }[];
  /** Values a positional argument accepts (e.g. the shells of `completion`). */
  readonly argumentChoices: readonly string[];
  readonly flags: readonly { flags: readonly string[]; description: string; choices: readonly string[]; takesValue: boolean }[];
}

function flagsOf(o: Option): string[] {
  return [o.short, o.long].filter((f): f is string => typeof f === "string");
}

/** Every command reachable from `program`, depth first; options include the inherited global ones. */
export function commandSpecs(program: Command): CommandSpec[] {
  const globals = program.options;
  const out: CommandSpec[] = [];
  const walk = (cmd: Command, path: string[]): void => {
    const options = cmd === program ? globals : [...cmd.options, ...globals];
    out.push({
      path,
      description: cmd.description(),
      subcommands: cmd.commands.map((c) => ({ name: c.name(), description: c.description() })),
      argumentChoices: cmd.registeredArguments.flatMap((a) => a.argChoices ?? []),
      flags: options.map((o) => ({
        flags: flagsOf(o),
        description: o.description,
        choices: o.argChoices ?? [],
        takesValue: o.required || o.optional,
      })),
    });
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return out;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(specs: readonly CommandSpec[]): string {
  const cases = specs.map((s) => {
    const words = [...s.subcommands.map((c) => c.name), ...s.argumentChoices, ...s.flags.flatMap((f) => f.flags)].join(" ");
    return `    ${quote(s.path.join(" "))}) words=${quote(words)} ;;`;
  });
  const values = specs.flatMap((s) => s.flags.filter((f) => f.choices.length > 0).flatMap((f) => f.flags.map((flag) => `    ${quote(flag)}) COMPREPLY=($(compgen -W ${quote(f.choices.join(" "))} -- "$cur")); return ;;`)));
  const withValue = [...new Set(specs.flatMap((s) => s.flags.filter((f) => f.takesValue).flatMap((f) => f.flags)))];
  return `# nkctl completion for bash: source <(nkctl completion bash)
_nkctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" word i
  case "$prev" in
${[...new Set(values)].join("\n")}
  esac
  # The command path: the words so far that are not flags or flag values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$word" in
      ${withValue.map(quote).join("|")}) i=$((i + 1)) ;;
      -*) ;;
      *) path="\${path:+$path }$word" ;;
    esac
  done
  local words=""
  case "$path" in
${cases.join("\n")}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _nkctl nkctl
`;
}

function zsh(specs: readonly CommandSpec[]): string {
  // zsh runs the bash function through bashcompinit, the one tree for both shells.
  return `#compdef nkctl
# nkctl completion for zsh: source <(nkctl completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(specs).replace(/^# nkctl completion for bash.*\n/, "")}`;
}

function fish(specs: readonly CommandSpec[]): string {
  const lines = ["# nkctl completion for fish: nkctl completion fish | source", "complete -c nkctl -f"];
  for (const s of specs) {
    // The command applies when its path was typed and none of its subcommands yet.
    const seen = s.path.map((w) => `__fish_seen_subcommand_from ${w}`);
    const notSub = s.subcommands.length > 0 ? [`not __fish_seen_subcommand_from ${s.subcommands.map((c) => c.name).join(" ")}`] : [];
    const condition = s.path.length === 0 ? "__fish_use_subcommand" : [...seen, ...notSub].join("; and ");
    for (const c of s.subcommands) lines.push(`complete -c nkctl -n ${quote(condition)} -a ${quote(c.name)} -d ${quote(c.description)}`);
    if (s.argumentChoices.length > 0) lines.push(`complete -c nkctl -n ${quote(condition)} -a ${quote(s.argumentChoices.join(" "))}`);
    for (const f of s.flags) {
      const parts = f.flags.map((flag) => (flag.startsWith("--") ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`));
      const value = f.choices.length > 0 ? ` -x -a ${quote(f.choices.join(" "))}` : f.takesValue ? " -r" : "";
      lines.push(`complete -c nkctl -n ${quote(condition)} ${parts.join(" ")}${value} -d ${quote(f.description)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export function completionScript(program: Command, shell: Shell): string {
  const specs = commandSpecs(program);
  return shell === "bash" ? bash(specs) : shell === "zsh" ? zsh(specs) : fish(specs);
}

export function registerCompletion(program: Command, ctx: CliContext): void {
  program
    .command("completion")
    .description("print a shell completion script (bash, zsh or fish) for every nkctl command and option")
    .addArgument(new Argument("<shell>", "the shell").choices([...SHELLS]))
    .addHelpText("after", "\nbash: source <(nkctl completion bash)   zsh: source <(nkctl completion zsh)   fish: nkctl completion fish | source")
    .action((shell: Shell) => {
      // Run on the root program: the script covers the whole tree, this command included.
      ctx.stdout.write(completionScript(program, shell));
    });
}
