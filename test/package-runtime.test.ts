// The package runs compiled JavaScript: the build ships no test-only module and runs with tsx unavailable.
import { execFile } from "node:child_process";
import { readdir, readFile, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support/repo-root.js";

const run = promisify(execFile);

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe("the package's runtime", () => {
  let work: string;
  let dist: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "nk-dist-"));
    dist = join(work, "dist");
    // Packages resolve from the compiled files upward, as they do in the installed package.
    await symlink(join(REPO_ROOT, "node_modules"), join(work, "node_modules"));
    await run(process.execPath, [join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", join(REPO_ROOT, "tsconfig.build.json"), "--outDir", dist], { cwd: REPO_ROOT });
  }, 120_000);

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("lists tsx as a development dependency only", async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(pkg.dependencies).not.toHaveProperty("tsx");
    expect(pkg.devDependencies).toHaveProperty("tsx");
  });

  it("compiles no test-only module and nothing that loads tsx", async () => {
    const files = await filesUnder(dist);
    expect(files).toContain("agent/src/cli.js");
    expect(files.filter((f) => /(^|\/)(test-|fake-)|\.test\.|fixtures|conformance|crash-writer/.test(f))).toEqual([]);
    for (const f of files.filter((f) => f.endsWith(".js"))) expect(await readFile(join(dist, f), "utf8"), f).not.toMatch(/["']tsx(\/|["'])/);
  });

  it("runs nkctl from the build when tsx cannot be loaded", async () => {
    const blocker = join(work, "block-tsx.mjs");
    await writeFile(blocker, `export async function resolve(spec, ctx, next) { if (spec === "tsx" || spec.startsWith("tsx/")) throw new Error("tsx blocked"); return next(spec, ctx); }\n`);
    const hook = `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(`file://${blocker}`)})`;
    const nkctl = join(REPO_ROOT, "bin/nkctl.js");
    const built = await run(process.execPath, ["--import", hook, nkctl, "--version"], { env: { ...process.env, NK_DIST_DIR: dist } });
    expect(built.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
