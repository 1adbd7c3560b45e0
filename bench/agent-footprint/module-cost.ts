// What the agent's resident memory is made of: RSS of a bare Node process after importing one thing, idle.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { REPO_ROOT } from "../../test/support/coordinator-harness.js";
import { median } from "./proc-sampler.js";

const run = promisify(execFile);

export interface ModuleProbe {
  readonly name: string;
  /** ES module code run with --input-type=module in the repo root (bare imports resolve from its node_modules). */
  readonly code: string;
}

export interface ModuleCost {
  readonly name: string;
  readonly rssMiB: number;
  /** The anonymous part (RssAnon); the rest is mostly the node binary's file-backed pages. */
  readonly anonMiB: number;
}

const url = (path: string) => JSON.stringify(pathToFileURL(join(REPO_ROOT, path)).href);

/** Probes for the agent's heavy parts; `builtMain` is the compiled agent/src/main.js, if built. */
export function agentProbes(builtMain: string | null): ModuleProbe[] {
  const probes: ModuleProbe[] = [
    { name: "node, nothing imported", code: "" },
    { name: "@grpc/grpc-js", code: "await import('@grpc/grpc-js');" },
    { name: "systeminformation", code: "await import('systeminformation');" },
    { name: "pino", code: "await import('pino');" },
    { name: "zod", code: "await import('zod');" },
    { name: "tsx loader registered (nothing else)", code: "const { register } = await import('tsx/esm/api'); register();" },
    { name: "agent/src/main.ts through tsx (all agent modules, not started)", code: `const { register } = await import('tsx/esm/api'); register(); await import(${url("agent/src/main.ts")});` },
  ];
  if (builtMain) probes.push({ name: "compiled agent/src/main.js (all agent modules, not started)", code: `await import(${JSON.stringify(pathToFileURL(builtMain).href)});` });
  return probes;
}

const MEASURE = `await new Promise((r) => setTimeout(r, 1000)); const s = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8'); process.stdout.write(/VmRSS:\\s+(\\d+)/.exec(s)[1] + " " + /RssAnon:\\s+(\\d+)/.exec(s)[1]);`;

/** Median of `runs` fresh processes, each importing the probe's module and measuring itself a second later. */
export async function moduleCost(probe: ModuleProbe, runs = 3): Promise<ModuleCost> {
  const rss: number[] = [];
  const anon: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", `${probe.code}\n${MEASURE}`], { cwd: REPO_ROOT });
    const [rssKb, anonKb] = stdout.trim().split(" ").map(Number);
    rss.push(rssKb! / 1024);
    anon.push(anonKb! / 1024);
  }
  return { name: probe.name, rssMiB: median(rss), anonMiB: median(anon) };
}
