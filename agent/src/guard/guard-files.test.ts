import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { clearGuardRollback, readGuardRollback, writeAlive } from "./guard-files.js";

it("writes alive.json (0600) only when the unit names the agent package", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nk-guard-"));
  expect(await writeAlive(dir, undefined, "0.1.0", new Date(0))).toBe(false);
  expect(await writeAlive(dir, "/nix/store/abc-nk-0.1.0", "0.1.0", new Date(0))).toBe(true);
  const alive = JSON.parse(await readFile(join(dir, "alive.json"), "utf8"));
  expect(alive).toEqual({ package: "/nix/store/abc-nk-0.1.0", version: "0.1.0", pid: process.pid, at: "1970-01-01T00:00:00.000Z" });
  expect((await stat(join(dir, "alive.json"))).mode & 0o777).toBe(0o600);
});

it("reads the guard's rollback note until it is cleared", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nk-guard-"));
  expect(await readGuardRollback(dir)).toBeNull();
  await mkdir(join(dir, "guard"));
  await writeFile(join(dir, "guard", "rolled-back.json"), JSON.stringify({ from: "/nix/store/new", to: "/nix/store/old", package: "/nix/store/pkg", at: 5, reason: "agent silent for 900s" }));
  const note = { from: "/nix/store/new", to: "/nix/store/old", package: "/nix/store/pkg", at: 5, reason: "agent silent for 900s" };
  expect(await readGuardRollback(dir)).toEqual(note);
  // An agent stopped before it saved what it made of the note reads it again.
  expect(await readGuardRollback(dir)).toEqual(note);
  await clearGuardRollback(dir);
  expect(await readGuardRollback(dir)).toBeNull();
  await clearGuardRollback(dir);
});
