// npm run bench:hostile-push: peak RSS of a coordinator refusing a 100 MiB blob of zeros and 20,000 small files.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runHostilePushes, type PushOutcome } from "./hostile-push.js";

const { values } = parseArgs({
  options: {
    "zero-mib": { type: "string", default: "100" },
    files: { type: "string", default: "20000" },
    "file-bytes": { type: "string", default: "2048" },
  },
});
const zeroBytes = Number(values["zero-mib"]) * 1024 * 1024;
const smallFiles = Number(values.files);
const smallFileBytes = Number(values["file-bytes"]);

const workDir = await mkdtemp(join(tmpdir(), "nk-bench-hostile-"));
try {
  const load = loadavg()[0]!.toFixed(1);
  const started = Date.now();
  const r = await runHostilePushes({ workDir, zeroBytes, smallFiles, smallFileBytes });
  const row = (what: string, o: PushOutcome): string => `| ${what} | ${o.accepted ? "accepted" : "refused"} | ${o.hwmMiB.toFixed(1)} MiB | ${o.remote.filter((l) => l.startsWith("nk:") || l.includes("not read")).slice(0, 2).join("<br>")} |`;
  process.stdout.write(
    [
      `Node ${process.version}, load average ${load} at the start, ${((Date.now() - started) / 1000).toFixed(1)} s in all`,
      "",
      "| Push | Outcome | Coordinator VmHWM after it | remote: lines |",
      "| --- | --- | --- | --- |",
      row("the example inventory (baseline)", r.base),
      row(`+ one blob of ${values["zero-mib"]} MiB of zeros`, r.zeros),
      row(`+ ${smallFiles} files of ${smallFileBytes} bytes`, r.files),
      "",
    ].join("\n"),
  );
} finally {
  await rm(workDir, { recursive: true, force: true });
}
