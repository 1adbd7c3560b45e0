// Whether a node runs exactly what it should; shared by the page, the summary and the metrics.
import type { NodeView } from "../status/index.js";

/** Same bundle hash, or the same revision when either hash is still unknown. */
export function isConverged(node: NodeView): boolean {
  if (node.desiredSha256 !== "" && node.appliedSha256 !== "") return node.desiredSha256 === node.appliedSha256;
  return node.desiredRevision !== "" && node.desiredRevision === node.appliedRevision;
}
