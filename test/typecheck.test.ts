// The whole tree type-checks under strict settings (tsc is the compiler the build uses).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

it("type-checks with tsc --noEmit", async () => {
  const result = await promisify(execFile)("npx", ["tsc", "--noEmit", "-p", "tsconfig.json"], { cwd: new URL("..", import.meta.url).pathname }).catch((err: { stdout: string; code: number }) => err);
  expect(result.stdout).toBe("");
}, 120_000);
