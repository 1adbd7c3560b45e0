// Entry point of validation: repo files in, a typed Inventory (or null) and every diagnostic out.
import { readNotify } from "./parse-notify.js";
import { LineCounter, parseDocument } from "yaml";
import { readManifests } from "../manifests/read-manifests.js";
import { applyCrossFieldRules, type RuleOptions } from "./cross-field-rules.js";
import type { Diagnostic, Inventory, RepoFiles } from "./model.js";
import { applyBuildRules, LOCAL_BUILD } from "./parse-build.js";
import { readCluster } from "./parse-cluster.js";
import { DEFAULT_MANIFEST_SETTINGS, readManifestSettings } from "./parse-manifest-settings.js";
import { readNodes } from "./parse-nodes.js";
import { lockDiagnostics, readLock } from "../lock/index.js";
import { YamlReader, type Located, type SourcePos } from "./yaml-reader.js";
import type { InventoryTextMemo } from "./inventory-text-memo.js";

export const INVENTORY_FILE = "inventory.yaml";
const MAX_INVENTORY_BYTES = 8 * 1024 * 1024;

export interface ValidationResult {
  /** Null when any diagnostic is an error. */
  readonly inventory: Inventory | null;
  /** Names under nodes:, even when the inventory has errors (for checks on nodes/<name>.nix). */
  readonly nodeNames: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
  /** Where each field of inventory.yaml sits, by dot-path (for rules that point back into it). */
  readonly positions?: ReadonlyMap<string, SourcePos>;
}

export type ValidateOptions = RuleOptions;

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.field.localeCompare(b.field);
}

/**
 * A syntax error throws the parser off for the lines after it: one tab used as indentation gave eight errors, seven of
 * them "All mapping items must start at the same column". The errors of the first line with any are reported in full;
 * those of later lines become one line that names them, so the cause is not lost among its echoes.
 */
function reportYamlErrors(r: YamlReader, errors: ReadonlyArray<{ pos: { line: number; col: number }; message: string }>): void {
  const first = errors[0]?.pos.line;
  const later = errors.filter((e) => e.pos.line !== first);
  for (const e of errors.filter((e) => e.pos.line === first)) r.report(e.pos, "", `YAML: ${e.message}`);
  if (later.length === 0) return;
  const laterLines = [...new Set(later.map((e) => e.pos.line))];
  const kinds = [...new Set(later.map((e) => e.message))].join("; ");
  r.report(later[0]!.pos, "", `YAML: ${later.length} more syntax error${later.length === 1 ? "" : "s"} on line${laterLines.length === 1 ? "" : "s"} ${laterLines.join(", ")} (${kinds}), which may follow from the one on line ${first}: fix that first`);
}

/** Parses and validates inventory.yaml text alone. */
export function validateInventoryText(text: string, options: ValidateOptions = {}, file = INVENTORY_FILE): ValidationResult {
  const lines = new LineCounter();
  const r = new YamlReader(file, lines);
  if (text.length > MAX_INVENTORY_BYTES) {
    r.report({ line: 1, col: 1 }, "", `file is larger than ${MAX_INVENTORY_BYTES} bytes`);
    return { inventory: null, nodeNames: [], diagnostics: r.diagnostics };
  }
  // Duplicate keys are found by the reader with a Set: the parser's own check is quadratic in a mapping's size.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  // By position: the parser reports some errors (a collection tag's) after errors further down.
  const yamlErrors = [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0]);
  reportYamlErrors(r, yamlErrors.map((err) => ({ pos: lines.linePos(err.pos[0]), message: err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "") })));
  if (doc.errors.length > 0) return { inventory: null, nodeNames: [], diagnostics: r.diagnostics.sort(byPosition) };

  const root: Located = { node: doc.contents, path: "", pos: { line: 1, col: 1 } };
  if (root.node === null) {
    r.report(root.pos, "", "the inventory is empty (expected cluster: and nodes:)");
    return { inventory: null, nodeNames: [], diagnostics: r.diagnostics };
  }
  const top = r.map(root, ["cluster", "nodes", "manifests", "notify"]);
  if (!top) return { inventory: null, nodeNames: [], diagnostics: r.diagnostics.sort(byPosition) };
  const clusterLoc = top.get("cluster");
  if (!clusterLoc) r.report(root.pos, "cluster", "is required");
  const read = clusterLoc ? readCluster(r, clusterLoc) : undefined;
  const cluster = read?.cluster;
  const nodes = readNodes(r, top.get("nodes"), root, {
    ...(cluster?.network.interface !== undefined ? { interface: cluster.network.interface } : {}),
    ...(read?.bootDefault ? { boot: read.bootDefault } : {}),
  });
  const apiAddress = cluster ? applyCrossFieldRules(r, cluster, nodes, options) : "";
  const build = cluster ? applyBuildRules(r, cluster.build, nodes) : LOCAL_BUILD;
  const manifests = readManifestSettings(r, top.get("manifests"));
  const notify = readNotify(r, top.get("notify"));

  const diagnostics = r.diagnostics.sort(byPosition);
  const nodeNames = nodes.map((n) => n.name);
  const positions = r.positions;
  if (!cluster || diagnostics.some((d) => d.severity === "error")) return { inventory: null, nodeNames, diagnostics, positions };
  return { inventory: { cluster: { ...cluster, k3s: { ...cluster.k3s, apiAddress }, build }, manifests, nodes, ...(notify.length > 0 ? { notify } : {}) }, nodeNames, diagnostics, positions };
}

/**
 * Validates the whole repo tree: the inventory plus the rules for nodes/, common/ and manifests/. `memo` reuses
 * the inventory.yaml result of an earlier call with the same text (the rest is checked every time).
 */
export function validateRepo(files: RepoFiles, options: ValidateOptions = {}, memo?: InventoryTextMemo): ValidationResult {
  const text = files.get(INVENTORY_FILE);
  if (text === undefined) {
    return { inventory: null, nodeNames: [], diagnostics: [{ file: INVENTORY_FILE, line: 1, col: 1, field: "", message: "missing: the repo root must contain inventory.yaml", severity: "error" }] };
  }
  const result = memo ? memo.validate(text, options, (t, o) => validateInventoryText(t, o)) : validateInventoryText(text, options);
  const extra: Diagnostic[] = [];
  const nodeNames = new Set(result.nodeNames);
  const fileProblem = (file: string, message: string, line = 1, col = 1): void => {
    extra.push({ file, line, col, field: "", message, severity: "error" });
  };
  for (const path of files.keys()) {
    const nodeFile = path.match(/^nodes\/([^/]+)\.nix$/);
    if (nodeFile && nodeNames.size > 0 && !nodeNames.has(nodeFile[1]!)) fileProblem(path, `extra config for unknown node "${nodeFile[1]}" (nodes: ${[...nodeNames].join(", ")})`);
    else if (path.startsWith("nodes/") && !nodeFile) fileProblem(path, "nodes/ holds only <node>.nix files");
    if (path.startsWith("common/") && !/^common\/[^/]+\.nix$/.test(path)) fileProblem(path, "common/ holds only *.nix files");
  }
  extra.push(...readManifests(files, result.inventory?.manifests ?? DEFAULT_MANIFEST_SETTINGS).diagnostics);
  // The inputs must be locked (nk.lock, written by nkctl pin): a valid inventory whose lock lacks one is refused.
  const lock = readLock(files);
  extra.push(...(lock?.diagnostics ?? []));
  if (result.inventory && (!lock || lock.lock)) {
    const at = (path: string): SourcePos => result.positions?.get(path) ?? result.positions?.get("cluster") ?? { line: 1, col: 1 };
    extra.push(...lockDiagnostics(result.inventory, lock?.lock ?? null, at));
  }
  const diagnostics = [...result.diagnostics, ...extra].sort(byPosition);
  return { inventory: hasError(extra) ? null : result.inventory, nodeNames: result.nodeNames, diagnostics };
}

function hasError(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}
