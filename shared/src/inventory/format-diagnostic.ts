// Turns diagnostics into the one-line form git shows as `remote:` and nkctl prints.
import type { Diagnostic } from "./model.js";

/** `inventory.yaml:12:5 nodes.n2.address: 10.0.0.9 is outside ...` (warnings say so). */
export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  const what = d.field ? `${d.field}: ` : "";
  return `${where} ${d.severity === "warning" ? "warning: " : ""}${what}${d.message}`;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}
