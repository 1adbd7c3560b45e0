// npm run fuzz -- --runs 100000 [--seed S] [filter]: the property tests (*.fuzz.test.ts) with many more runs than CI's.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: "string", default: "10000" }, seed: { type: "string" } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`fuzz: --runs must be a positive integer, got ${JSON.stringify(values.runs)}\n`);
  process.exit(2);
}
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const filters = positionals.length > 0 ? positionals : ["fuzz.test"];
const child = spawn(process.execPath, [vitest, "run", ...filters], {
  stdio: "inherit",
  env: { ...process.env, NK_FUZZ_RUNS: String(runs), ...(values.seed ? { NK_FUZZ_SEED: values.seed } : {}) },
});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
