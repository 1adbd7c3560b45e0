// The default push validator: inventory rules plus the Nix syntax of every .nix file, as `remote:` lines.
import { isNkError } from "../../../shared/src/errors/index.js";
import { formatDiagnostic, hasErrors, INVENTORY_FILE, validateRepo, type Diagnostic, type Inventory, type InventoryTextMemo, type RepoFiles } from "../../../shared/src/inventory/index.js";
import { parseNixSources, type NixParseOptions, type NixParseResult } from "../../../shared/src/nix/index.js";
import type { HookVerdict } from "./hook-server.js";
import type { NixSyntaxMemo } from "./nix-syntax-memo.js";
import type { SkippedFile, TreeSnapshot } from "./tree-snapshot.js";

export interface PushValidationOptions {
  /** Secret names the coordinator holds; references to others are errors. Omit to skip that rule. */
  readonly knownSecrets?: ReadonlySet<string>;
  /** Default true; false skips the Nix syntax check (nix-instantiate not installed on purpose). */
  readonly checkNix?: boolean;
  readonly nix?: NixParseOptions;
  /** The last inventory.yaml result, reused when a push leaves that file as it was. */
  readonly memo?: InventoryTextMemo;
  /** The .nix texts that parsed before; only the others go through nix-instantiate. */
  readonly nixMemo?: NixSyntaxMemo;
}

export interface PushValidation extends HookVerdict {
  readonly diagnostics: readonly Diagnostic[];
  /** The parsed inventory when there is no error. */
  readonly inventory: Inventory | null;
}

// Paths nk reads: a file there that could not be read is an error, elsewhere only a warning.
const NK_PATH = /^(inventory\.yaml$|nk\.lock$|nodes\/|common\/|manifests\/)/;

function skippedDiagnostic(s: SkippedFile): Diagnostic {
  const severity = NK_PATH.test(s.path) || s.path.endsWith(".nix") ? "error" : "warning";
  return { file: s.path, line: 1, col: 1, field: "", message: `not read: ${s.reason}`, severity };
}

/** `error: syntax error, unexpected ';'\n\n  at nodes/x.nix:2:7:` → a diagnostic at 2:7. */
export function nixDiagnostic(result: NixParseResult): Diagnostic {
  const text = result.error ?? "";
  const first = text.split("\n").find((l) => l.trim() !== "") ?? "cannot be parsed";
  const message = first.replace(/^error:\s*/, "").trim();
  const at = new RegExp(`${result.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):(\\d+)`).exec(text);
  return { file: result.path, line: at ? Number(at[1]) : 1, col: at ? Number(at[2]) : 1, field: "", message: `invalid Nix: ${message}`, severity: "error" };
}

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

async function checkNixFiles(files: RepoFiles, options: PushValidationOptions): Promise<{ diagnostics: Diagnostic[]; notes: string[] }> {
  const sources = [...files].filter(([path]) => path.endsWith(".nix")).map(([name, content]) => ({ name, content }));
  if (options.checkNix === false || sources.length === 0) return { diagnostics: [], notes: [] };
  try {
    const toParse = options.nixMemo ? options.nixMemo.unknown(sources) : sources;
    const results = toParse.length === 0 ? [] : await parseNixSources(toParse, options.nix);
    const okPaths = new Set(results.filter((r) => r.ok).map((r) => r.path));
    options.nixMemo?.keep(sources, toParse.filter((s) => okPaths.has(s.name)));
    return { diagnostics: results.filter((r) => !r.ok).map(nixDiagnostic), notes: [] };
  } catch (err) {
    // A coordinator without Nix still guards the inventory; the agents' builds will catch syntax.
    if (isNkError(err, "UNAVAILABLE")) return { diagnostics: [], notes: [`nk: warning: Nix syntax not checked (${err.message})`] };
    throw err;
  }
}

/**
 * Validates a pushed (or fetched) tree: validateRepo with the coordinator's secret names, every
 * .nix file through `nix-instantiate --parse`, and files that could not be read. Every problem is
 * one line (`inventory.yaml:12:5 nodes.n2.address: ...`), followed by a summary line.
 */
export async function validatePushedTree(tree: TreeSnapshot | RepoFiles, options: PushValidationOptions = {}): Promise<PushValidation> {
  const files: RepoFiles = tree instanceof Map ? tree : (tree as TreeSnapshot).files;
  const skipped = tree instanceof Map ? [] : (tree as TreeSnapshot).skipped;
  const revision = tree instanceof Map ? undefined : (tree as TreeSnapshot).revision;
  const at = revision ? ` at ${revision.slice(0, 12)}` : "";
  const refusedWhy = tree instanceof Map ? undefined : (tree as TreeSnapshot).refused;
  if (refusedWhy !== undefined) return { ok: false, lines: [`nk: ${refusedWhy}`, `nk: rejected${at}: too large to validate (nothing was changed)`], diagnostics: [], inventory: null };

  const nix = checkNixFiles(files, options);
  // An inventory.yaml too large to read would otherwise be reported as missing.
  const inventoryUnreadable = skipped.some((s) => s.path === INVENTORY_FILE);
  const repo = inventoryUnreadable ? { inventory: null, diagnostics: [] } : validateRepo(files, options.knownSecrets ? { knownSecrets: options.knownSecrets } : {}, options.memo);
  const { diagnostics: nixDiagnostics, notes } = await nix;
  const diagnostics = [...repo.diagnostics, ...skipped.map(skippedDiagnostic), ...nixDiagnostics].sort(byPosition);

  const ok = !hasErrors(diagnostics) && repo.inventory !== null;
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  const summary = ok
    ? `nk: inventory valid${at}: ${plural(repo.inventory?.nodes.length ?? 0, "node")}${warnings ? `, ${plural(warnings, "warning")}` : ""}`
    : `nk: rejected${at}: ${plural(errors, "error")}${warnings ? `, ${plural(warnings, "warning")}` : ""} (nothing was changed)`;
  return { ok, lines: [...diagnostics.map(formatDiagnostic), ...notes, summary], diagnostics, inventory: ok ? repo.inventory : null };
}
