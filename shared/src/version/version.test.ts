import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { NK_VERSION } from "./version.js";

it("NK_VERSION equals package.json's version", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  expect(NK_VERSION).toBe(pkg.version);
});
