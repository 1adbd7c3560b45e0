// Loads a daemon's entry point: the compiled dist/ build (or $NK_DIST_DIR). A source checkout without a build
// (tests, the demo) runs the TypeScript sources through tsx, a dev dependency the package does not ship.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export async function launch(entry) {
  // NK_DIST_DIR: a long test run pins its own build, so edits to the sources while it runs do not change what runs.
  const pinned = process.env.NK_DIST_DIR;
  const built = join(pinned || join(root, "dist"), `${entry}.js`);
  if (pinned && !existsSync(built)) throw new Error(`NK_DIST_DIR=${pinned} has no ${entry}.js`);
  if (existsSync(built)) {
    await import(pathToFileURL(built).href);
    return;
  }
  let register;
  try {
    ({ register } = await import("tsx/esm/api"));
  } catch {
    throw new Error(`nk: no build at ${built}: run \`npm run build\` (or \`npm ci\` for tsx, which runs the sources in a checkout)`);
  }
  register();
  await import(pathToFileURL(join(root, `${entry}.ts`)).href);
}
