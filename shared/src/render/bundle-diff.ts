// Unified diffs between two renders, node by node; equal bundles mean "no action needed".
import { createTwoFilesPatch } from "diff";
import type { Bundle } from "./bundle.js";

export interface NodeBundleDiff {
  readonly node: string;
  /** Empty when the node is absent on that side. */
  readonly fromSha256: string;
  readonly toSha256: string;
  /** Unified diff of every changed file; empty when the bundles are identical. */
  readonly unified: string;
}

function fileDiff(path: string, before: string | undefined, after: string | undefined): string {
  if (before === after) return "";
  const from = before === undefined ? "/dev/null" : `a/${path}`;
  const to = after === undefined ? "/dev/null" : `b/${path}`;
  return createTwoFilesPatch(from, to, before ?? "", after ?? "", undefined, undefined, { context: 3 })
    .replace(/^=+\n/, "")
    .replace(/^Index: .*\n/, "");
}

export function diffBundles(from: ReadonlyMap<string, Bundle>, to: ReadonlyMap<string, Bundle>, onlyNode?: string): NodeBundleDiff[] {
  const names = [...new Set([...from.keys(), ...to.keys()])].filter((n) => onlyNode === undefined || n === onlyNode).sort();
  return names.map((node) => {
    const a = from.get(node);
    const b = to.get(node);
    if (a?.sha256 === b?.sha256) return { node, fromSha256: a?.sha256 ?? "", toSha256: b?.sha256 ?? "", unified: "" };
    const before = new Map(a?.files.map((f) => [f.path, f.content]) ?? []);
    const after = new Map(b?.files.map((f) => [f.path, f.content]) ?? []);
    const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
    const unified = paths.map((p) => fileDiff(p, before.get(p), after.get(p))).join("");
    return { node, fromSha256: a?.sha256 ?? "", toSha256: b?.sha256 ?? "", unified };
  });
}
