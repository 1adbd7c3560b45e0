// Every inventory the docs show validates: a reader copies these blocks, and a placeholder key or a node without its
// boot loader only shows when a push is refused. A complete inventory is checked as it stands; a fragment (one
// section, or `  rollout:` under cluster) is merged into the example inventory, or into the complete one shown before it
// in the same doc when it continues that one (another subnet, its servers). Locks are made up: the docs show no nk.lock.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { formatDiagnostic, validateRepo, type RepoFiles } from "../../shared/src/inventory/index.js";
import { addSyntheticLocks } from "../../shared/src/lock/synthetic-lock.js";
import { EXAMPLE_DIR, REPO_ROOT } from "../support/repo-root.js";

const DOCS = ["README.md", "docs/inventory.md", "docs/nixos.md", "docs/ha.md"];
const INVENTORY_KEYS = new Set(["cluster", "nodes", "manifests", "notify"]);
const NK_SOURCE = "https://172.30.190.2:7080/nk/source/nk-0.1.0.tar.gz";

interface Block {
  readonly where: string;
  readonly text: string;
}

type Doc = Record<string, unknown>;

function readTree(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) readTree(path, base, out);
    else out.set(relative(base, path), readFileSync(path, "utf8"));
  }
  return out;
}

/** The ```yaml blocks of a markdown file, with the line each starts on (list-indented blocks lose their indent). */
function yamlBlocks(doc: string): Block[] {
  const lines = readFileSync(join(REPO_ROOT, doc), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```yaml\s*$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```/.test(lines[j]!); j++) body.push(lines[j]!.slice(open[1]!.length));
    blocks.push({ where: `${doc}:${i + 1}`, text: `${body.join("\n")}\n` });
    i = j;
  }
  return blocks;
}

const isMap = (x: unknown): x is Doc => typeof x === "object" && x !== null && !Array.isArray(x);

/** Sections merge key by key; a node the fragment names replaces the base's node of that name. */
function merge(base: Doc, fragment: Doc): Doc {
  const deep = (a: unknown, b: unknown): unknown => (isMap(a) && isMap(b) ? Object.fromEntries([...Object.keys(a), ...Object.keys(b)].map((k) => [k, k in b ? deep(a[k], b[k]) : a[k]])) : b);
  const { nodes, ...rest } = fragment;
  const merged = deep(base, rest) as Doc;
  return nodes === undefined ? merged : { ...merged, nodes: { ...(base.nodes as Doc), ...(nodes as Doc) } };
}

/** The errors (warnings pass) of a repo whose inventory.yaml is `text`, with stand-ins for the .nix files it names. */
function errors(text: string, files: RepoFiles = new Map()): string[] {
  const repo = new Map(files);
  repo.set("inventory.yaml", text);
  for (const m of text.matchAll(/\b((?:nodes|common)\/[A-Za-z0-9_.-]+\.nix)\b/g)) if (!repo.has(m[1]!)) repo.set(m[1]!, "{ ... }: { }\n");
  const lock = addSyntheticLocks(text, repo.get("nk.lock"), NK_SOURCE);
  if (lock !== null) repo.set("nk.lock", lock);
  return validateRepo(repo).diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
}

describe("the inventories the docs show", () => {
  const example = readTree(EXAMPLE_DIR);

  it("the example inventory validates with no errors", () => {
    expect(errors(example.get("inventory.yaml")!, example)).toEqual([]);
  });

  it("every complete inventory and every fragment in the docs validates", () => {
    const failures: string[] = [];
    let complete = 0;
    let fragments = 0;
    for (const doc of DOCS) {
      let shownBefore: Doc | null = null;
      for (const block of yamlBlocks(doc)) {
        // "  rollout:" and the like sit under cluster:.
        const text = /^\s+\S/.test(block.text.split("\n").find((l) => l.trim() !== "" && !l.trim().startsWith("#")) ?? "") ? `cluster:\n${block.text}` : block.text;
        const parsed: unknown = parse(text);
        if (!isMap(parsed) || !Object.keys(parsed).every((k) => INVENTORY_KEYS.has(k))) continue; // e.g. a coordinator's config
        if (isMap(parsed.cluster) && "name" in parsed.cluster && "nodes" in parsed) {
          complete++;
          shownBefore = parsed;
          const found = errors(block.text);
          if (found.length > 0) failures.push(`${block.where} (complete): ${found.join(" | ")}`);
          continue;
        }
        fragments++;
        const inExample = errors(stringify(merge(parse(example.get("inventory.yaml")!) as Doc, parsed)), example);
        const inPrevious = shownBefore === null ? inExample : errors(stringify(merge(shownBefore, parsed)));
        if (inExample.length > 0 && inPrevious.length > 0) failures.push(`${block.where} (fragment): ${inExample.join(" | ")}`);
      }
    }
    expect(failures).toEqual([]);
    // The docs show many; a change to how blocks are found must not make this check empty.
    expect(complete).toBeGreaterThanOrEqual(2);
    expect(fragments).toBeGreaterThanOrEqual(15);
  });
});
