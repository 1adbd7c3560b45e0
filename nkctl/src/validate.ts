// `nkctl validate [dir]`: every inventory problem plus the Nix syntax of every .nix file, at once.
import { join } from "node:path";
import type { Command } from "commander";
import { isNkError } from "../../shared/src/errors/index.js";
import { formatDiagnostic, hasErrors, validateRepo, type Diagnostic, type Inventory, type RepoFiles } from "../../shared/src/inventory/index.js";
import { parseNixSources, type NixParseResult } from "../../shared/src/nix/index.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { EXIT } from "./exit-codes.js";
import { emit, plural } from "./output.js";
import { readRepoDir } from "./repo-files.js";

/** `error: syntax error, unexpected ';'\n\n  at nodes/x.nix:2:7:` → a diagnostic at 2:7. */
export function nixDiagnostic(result: NixParseResult): Diagnostic {
  const text = result.error ?? "";
  const first = text.split("\n").find((l) => l.trim() !== "") ?? "cannot be parsed";
  const escaped = result.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const at = new RegExp(`${escaped}:(\\d+):(\\d+)`).exec(text);
  return { file: result.path, line: at ? Number(at[1]) : 1, col: at ? Number(at[2]) : 1, field: "", message: `invalid Nix: ${first.replace(/^error:\s*/, "").trim()}`, severity: "error" };
}

/** Nix syntax problems, or a warning (not an error) when nix-instantiate is not installed. */
export async function checkNixSyntax(files: RepoFiles): Promise<{ diagnostics: Diagnostic[]; skipped?: string }> {
  const sources = [...files].filter(([path]) => path.endsWith(".nix")).map(([name, content]) => ({ name, content }));
  if (sources.length === 0) return { diagnostics: [] };
  try {
    const results = await parseNixSources(sources);
    return { diagnostics: results.filter((r) => !r.ok).map(nixDiagnostic) };
  } catch (err) {
    if (isNkError(err, "UNAVAILABLE")) return { diagnostics: [], skipped: `Nix syntax of ${plural(sources.length, "file")} not checked: ${err.message}` };
    throw err;
  }
}

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col;
}

/** "ok: 5 nodes (3 servers, 2 agents)", "ok: 6 nodes (3 servers, 2 agents, 1 without k3s)", "ok: ..., 1 warning" or "2 errors, 1 warning". */
export function summaryLine(diagnostics: readonly Diagnostic[], inventory: Inventory | null): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  const warnText = warnings > 0 ? plural(warnings, "warning") : "";
  if (errors > 0) return [plural(errors, "error"), warnText].filter(Boolean).join(", ");
  const nodes = inventory?.nodes ?? [];
  const servers = nodes.filter((n) => n.role === "server").length;
  const withoutK3s = nodes.filter((n) => n.role === "none").length;
  const none = withoutK3s > 0 ? `, ${withoutK3s} without k3s` : "";
  const ok = `ok: ${plural(nodes.length, "node")} (${plural(servers, "server")}, ${plural(nodes.length - servers - withoutK3s, "agent")}${none})`;
  return warnText ? `${ok}, ${warnText}` : ok;
}

export interface DirValidation {
  readonly files: RepoFiles;
  readonly inventory: Inventory | null;
  readonly diagnostics: readonly Diagnostic[];
}

/** Reads and validates a checkout, the Nix syntax of its .nix files included. */
/**
 * A diagnostic as text with its file's path as the user named the checkout (`homelab/inventory.yaml:3:1`), so that an
 * editor opens the right file; the JSON output keeps paths relative to the checkout.
 */
export function formatDiagnosticIn(dir: string, d: Diagnostic): string {
  return formatDiagnostic(dir === "." || dir === "" ? d : { ...d, file: join(dir, d.file) });
}

export async function validateDir(ctx: CliContext, dir: string): Promise<DirValidation> {
  const files = await readRepoDir(dir);
  const result = validateRepo(files);
  const syntax = await checkNixSyntax(files);
  if (syntax.skipped) ctx.stderr.write(`nkctl: warning: ${syntax.skipped}\n`);
  const diagnostics = [...result.diagnostics, ...syntax.diagnostics].sort(byPosition);
  return { files, inventory: hasErrors(diagnostics) ? null : result.inventory, diagnostics };
}

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command("validate")
    .description("check an inventory checkout: every problem with file:line:col, and the Nix syntax of every .nix file")
    .argument("[dir]", "the inventory checkout", ".")
    .addHelpText("after", "\nExits 1 when there are errors (warnings alone exit 0).")
    .action(async (dir: string, _opts: object, cmd: Command) => {
      const { output } = cmd.optsWithGlobals<GlobalOptions>();
      const { inventory, diagnostics } = await validateDir(ctx, dir);
      const ok = !hasErrors(diagnostics);
      const nodes = (inventory?.nodes ?? []).map((n) => ({ name: n.name, role: n.role, address: n.address }));
      emit(ctx, output, { ok, diagnostics, nodes }, () => [...diagnostics.map((d) => formatDiagnosticIn(dir, d)), summaryLine(diagnostics, inventory)].join("\n") + "\n");
      if (!ok) ctx.exitCode = EXIT.PROBLEMS;
    });
}
