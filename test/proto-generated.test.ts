// The checked-in ts-proto output matches what buf generates from proto/ now (one source of truth).
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;

it("generated code is up to date with proto/", async () => {
  const out = await mkdtemp(join(tmpdir(), "nk-proto-"));
  try {
    const template = (await readFile(join(root, "buf.gen.yaml"), "utf8")).replace("out: shared/src/proto/gen", `out: ${out}`);
    await writeFile(join(out, "buf.gen.yaml"), template);
    const env = { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` };
    await promisify(execFile)("npx", ["buf", "generate", "--template", join(out, "buf.gen.yaml")], { cwd: root, env });
    const dir = "nk/v1";
    for (const file of await readdir(join(root, "shared/src/proto/gen", dir))) {
      const fresh = await readFile(join(out, dir, file), "utf8");
      const checkedIn = await readFile(join(root, "shared/src/proto/gen", dir, file), "utf8");
      expect(checkedIn, `${file} is stale: run npm run gen:proto`).toBe(fresh);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 60_000);
