// Builders vs local mode: time from a push (every node's bundle changed) until every node holds its new system's closure.
// Simulated machines (SimSystem nodes, SimBuilder builders, a file:// SimCache) driven by the coordinator's real build queue.
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, platform, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { SimBuilder } from "../../agent/src/build/sim-builder.js";
import { SimSystem } from "../../agent/src/system/sim-system.js";
import { assignJobs, enqueueRevision, jobFinished, type BuildJobRecord } from "../../coordinator/src/build/build-queue.js";
import { bundleSha256, type BundleFile } from "../../shared/src/render/index.js";
import { median } from "../render/measure.js";

const KEY = "cache-1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "50" },
    runs: { type: "string", default: "5" },
    builders: { type: "string", default: "2" },
    "jobs-per-builder": { type: "string", default: "4" },
    "shared-ms": { type: "string", default: "2400" },
    "node-ms": { type: "string", default: "600" },
    "fetch-ms": { type: "string", default: "500" },
    "time-scale": { type: "string", default: "0.1" },
    /** How much slower a node builds than a builder (1: the same machines). */
    "node-slowdown": { type: "string", default: "1" },
  },
});
const N = Number(values.nodes);
const scale = Number(values["time-scale"]);
const [sharedMs, nodeMs, fetchMs] = [Number(values["shared-ms"]), Number(values["node-ms"]), Number(values["fetch-ms"])];
const slowdown = Number(values["node-slowdown"]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms * scale));

/** Every node's bundle for revision `rev`: the same nixpkgs (so the same kernel and shared derivations), its own network. */
function bundle(node: string, rev: number): BundleFile[] {
  return [
    { path: "flake.nix", content: `{ inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11"; # rev ${rev}\n}\n` },
    { path: "nk/k3s.nix", content: `{ services.k3s.role = "agent"; }\n` },
    { path: "nk/network.nix", content: `{ networking.hostName = "${node}"; }\n` },
  ];
}

/**
 * Nix's sharing, modelled: the derivations every node has in common (nixpkgs, the kernel) take `sharedMs` on a store
 * that does not have them yet, each node's own part `nodeMs`. Local mode: every node's own store builds both.
 */
async function localRun(nodes: SimSystem[], dir: string, rev: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    nodes.map(async (sim) => {
      const bundleDir = join(dir, "local", sim.node, String(rev));
      await sim.writeBundle(bundleDir, bundle(sim.node, rev));
      await sleep((sharedMs + nodeMs) * slowdown);
      const r = await sim.build(bundleDir, sim.node);
      if (!r.ok) throw new Error(r.error);
    }),
  );
  return performance.now() - t0;
}

async function buildersRun(nodes: SimSystem[], dir: string, rev: number, builderCount: number, perBuilder: number): Promise<number> {
  const cacheUrl = pathToFileURL(join(dir, "cache")).href;
  const builders = Array.from({ length: builderCount }, (_, i) => ({ name: `b${i + 1}`, systems: ["x86_64-linux" as const], sim: new SimBuilder({ dir: join(dir, `b${i + 1}`), publicKey: KEY, timeScale: 0 }), shared: null as Promise<void> | null }));
  const t0 = performance.now();
  let jobs: BuildJobRecord[] = enqueueRevision([], `r${rev}`, nodes.map((n) => ({ node: n.node, system: "x86_64-linux", bundleSha256: bundleSha256(bundle(n.node, rev)) })));
  const fetches: Promise<void>[] = [];
  let running = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      const { jobs: next, assignments } = assignJobs(jobs, builders, perBuilder);
      jobs = next;
      if (assignments.length === 0 && running === 0) return resolve();
      for (const a of assignments) {
        running += 1;
        const b = builders.find((x) => x.name === a.builder)!;
        void (async () => {
          // The first job on a builder builds the shared derivations; the others wait for them, as Nix's locks make them.
          await (b.shared ??= sleep(sharedMs));
          await sleep(nodeMs);
          const r = await b.sim.build({ node: a.job.node, revision: a.job.revision, bundleSha256: a.job.bundleSha256, files: bundle(a.job.node, rev), cacheUrl });
          if (!r.ok) throw new Error(r.error);
          jobs = jobFinished(jobs, a.job.revision, a.job.node, a.builder, r);
          const sim = nodes.find((n) => n.node === a.job.node)!;
          // The node fetches as soon as its desired state carries the store path.
          fetches.push((async () => {
            await sleep(fetchMs);
            const f = await sim.fetch(join(dir, "fetched", sim.node, String(rev)), r.built.systemPath, { url: cacheUrl, publicKey: KEY });
            if (!f.ok) throw new Error(f.error);
          })());
          running -= 1;
          pump();
        })().catch(reject);
      }
    };
    pump();
  });
  await Promise.all(fetches);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "nk-bench-builders-"));
  const loadStart = loadavg()[0]!;
  try {
    const nodes = await Promise.all(Array.from({ length: N }, (_, i) => SimSystem.open({ dir: join(dir, "nodes", `n${i}`), node: `n${i}`, timeScale: 0 })));
    const local: number[] = [];
    const built: number[] = [];
    for (let run = 0; run < Number(values.runs); run++) {
      local.push(await localRun(nodes, dir, run));
      built.push(await buildersRun(nodes, dir, run, Number(values.builders), Number(values["jobs-per-builder"])));
    }
    const fmt = (xs: number[]): string => `${(median(xs) / 1000).toFixed(2)} s (${(Math.min(...xs) / 1000).toFixed(2)} – ${(Math.max(...xs) / 1000).toFixed(2)} s)`;
    console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, ${platform()}, load average ${loadStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at the end`);
    console.log(`${N} nodes, ${values.runs} runs per mode, time scale ${scale}: shared ${sharedMs} ms + per node ${nodeMs} ms per build (x${slowdown} on nodes), fetch ${fetchMs} ms`);
    console.log(`local mode:    ${fmt(local)}; builds on nodes per push: ${N}`);
    console.log(`builders mode: ${fmt(built)}; ${values.builders} builders x ${values["jobs-per-builder"]} jobs; builds on nodes per push: 0, fetches: ${N}`);
    console.log(JSON.stringify({ localMs: local.map(Math.round), buildersMs: built.map(Math.round) }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
