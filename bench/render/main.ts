// Render benchmark: parse+validate 1k and 10k nodes, render 10k, re-render one node; `--write` updates BENCHMARKS.md.
import { cpus, loadavg, platform } from "node:os";
import { fileURLToPath } from "node:url";
import { DesiredCatalog } from "../../coordinator/src/inventory/index.js";
import { formatDiagnostic, validateRepo, type Inventory, type RepoFiles, type ValidationResult } from "../../shared/src/inventory/index.js";
import { createRenderContext, renderCluster, renderNodeIn, type Bundle } from "../../shared/src/render/index.js";
import { writeSection } from "./benchmarks-md.js";
import { generateRepo, nodeName, nodeNix } from "./inventory-gen.js";
import { formatMs, measure, type Measurement } from "./measure.js";

const RUNS = 7;
const BENCHMARKS_MD = fileURLToPath(new URL("../../BENCHMARKS.md", import.meta.url));

function valid(nodes: number): (r: ValidationResult) => void {
  return (r) => {
    if (!r.inventory || r.diagnostics.length > 0 || r.inventory.nodes.length !== nodes) {
      throw new Error(`generated inventory does not validate cleanly:\n${r.diagnostics.slice(0, 5).map(formatDiagnostic).join("\n")}`);
    }
  };
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark self-check failed: ${what}`);
}

function run(): Measurement[] {
  const repo1k = generateRepo({ nodes: 1_000 });
  const repo10k = generateRepo({ nodes: 10_000 });
  const results: Measurement[] = [];
  results.push(measure("parse + validate, 1,000 nodes", RUNS, () => validateRepo(repo1k), valid(1_000), 1_000));
  results.push(measure("parse + validate, 10,000 nodes", RUNS, () => validateRepo(repo10k), valid(10_000)));

  const inventory: Inventory = validateRepo(repo10k).inventory!;
  results.push(measure("render, 10,000 nodes", RUNS, () => renderCluster(inventory, repo10k), (m) => check(m.size === 10_000, "10,000 bundles"), 2_000));

  // One commit edits one node's extra config: only that node's bundle changes.
  const target = inventory.nodes.find((n) => n.name === nodeName(5_005, 5))!;
  const path = `nodes/${target.name}.nix`;
  check(repo10k.has(path), `${path} exists`);
  const edited: RepoFiles = new Map([...repo10k, [path, `${nodeNix(target.name)}# edited\n`]]);
  const before: Bundle = renderNodeIn(createRenderContext(inventory, repo10k), target);
  results.push(
    measure("re-render one node (edited nodes/<n>.nix), 10,000-node inventory", RUNS, () => renderNodeIn(createRenderContext(inventory, edited), target), (b) =>
      check(b.sha256 !== before.sha256, "the edited node's bundle changed"),
    ),
  );

  // The coordinator's path for the same commit: every other bundle is reused, not rendered.
  const catalog = new DesiredCatalog();
  catalog.adopt("rev-base", inventory, repo10k);
  let flip = false;
  results.push(
    measure("adopt that commit in the coordinator's DesiredCatalog, 10,000 nodes", RUNS, () => {
      flip = !flip;
      return catalog.adopt(flip ? "rev-edit" : "rev-base", inventory, flip ? edited : repo10k);
    }, (r) => check(r.changed.length === 1 && r.unchanged === 9_999, "one node re-rendered")),
  );
  return results;
}

function machine(): string {
  const cpu = cpus();
  return `machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}, ${platform()}`;
}

const results = run();
for (const m of results) {
  const goal = m.goalMs === undefined ? "" : `  goal < ${formatMs(m.goalMs)}: ${m.medianMs < m.goalMs ? "met" : "MISSED"}`;
  console.log(`${m.name.padEnd(70)} median ${formatMs(m.medianMs).padStart(9)}  [${formatMs(m.minMs)} – ${formatMs(m.maxMs)}]  rss ${m.rssMiB.toFixed(0)} MiB${goal}`);
}
console.log(`peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; ${machine()}`);
if (process.argv.includes("--write")) {
  await writeSection(BENCHMARKS_MD, {
    id: "render",
    title: "Render and validate (bench/render)",
    command: "npm run bench:render -- --write",
    machine: machine(),
    date: new Date().toISOString().slice(0, 10),
    results,
    notes: [
      "Generated inventory: 5 servers, the rest agents, labels on every node, taints, node checks and interface overrides on some, one `nodes/<n>.nix` per 50 agents, 2 `common/*.nix`, 1 manifest; 10.20.0.0/18.",
      "\"parse + validate\" is `validateRepo` on the repo files (YAML parse with positions and every rule); the Nix syntax check (`nix-instantiate --parse`) is not included.",
      "\"adopt\" starts from a catalog that holds the previous commit (adopted once, untimed); runs alternate between the two commits, each re-rendering the one changed node and reusing 9,999 bundles. Validation of the pushed commit is the separate \"parse + validate, 10,000 nodes\" row.",
      `Load average at the start of this run: ${loadavg()[0]!.toFixed(1)} (a shared machine; on a quiet one 10,000-node validation measured ~0.6 s). Duplicate keys are found with a Set while reading: the yaml library's own check (uniqueKeys) compares each key with every earlier one and made 10,000-node validation take ~2 s.`,
      `Peak RSS of the whole benchmark process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB.`,
    ],
  });
  console.log(`wrote ${BENCHMARKS_MD}`);
}
