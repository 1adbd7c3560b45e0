// The pid lock nkctl (--out) and the coordinator (state dir) share: one holder, stale locks taken over without a race.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNkError } from "../errors/index.js";
import { bootId } from "./boot-id.js";
import type { LockOwner } from "./lock-owner.js";
import { takeOverStaleLock } from "./take-over-stale-lock.js";
import { takePidLock, type PidLockWords } from "./take-pid-lock.js";

const WORDS: PidLockWords = { who: "tool", doing: "working in x", wait: "wait for it", busy: "UNAVAILABLE" };
// Pids never reach 2^22 + 1 on Linux: a process that is gone.
const DEAD = 2 ** 22 + 1;
const owner = (pid: number | string, host = hostname()): string => (typeof pid === "string" ? pid : `${JSON.stringify({ pid, host })}\n`);

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-pid-lock-"));
  path = join(dir, "x.lock");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("takePidLock", () => {
  it("holds the lock in a file naming this pid and host, and leaves nothing behind once released", async () => {
    const lock = await takePidLock(path, WORDS);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ pid: process.pid, host: hostname(), boot: bootId() });
    expect(await readdir(dir)).toEqual(["x.lock"]);
    await expect(takePidLock(path, WORDS)).rejects.toThrow("this tool is already working in x");
    await lock.release();
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
    await (await takePidLock(path, WORDS)).release();
  });

  it("refuses a live holder, one on another host and a file naming no process, saying whom and what to do", async () => {
    const refused = async (content: string): Promise<string> => {
      await writeFile(path, content);
      const err = await takePidLock(path, WORDS).then(() => null, (e: unknown) => e);
      expect(isNkError(err, "UNAVAILABLE"), String(err)).toBe(true);
      expect(await readFile(path, "utf8")).toBe(content);
      return (err as Error).message;
    };
    expect(await refused(owner(process.ppid))).toBe(`another tool (pid ${process.ppid}) is working in x: wait for it (or, if no tool runs, remove ${path})`);
    expect(await refused(owner(DEAD, "elsewhere"))).toBe(`another tool (pid ${DEAD} on elsewhere) is working in x: wait for it (or, if no tool runs there, remove ${path})`);
    expect(await refused("")).toBe(`${path} is in the way and names no process: if no tool is working in x, remove it`);
    expect(await readdir(dir)).toEqual(["x.lock"]);
  });

  it("takes over the lock of a process that is gone, also one under this very pid and one in the bare-pid form", async () => {
    for (const stale of [owner(DEAD), owner(process.pid), `${DEAD}\n`]) {
      await writeFile(path, stale);
      const lock = await takePidLock(path, WORDS);
      expect(JSON.parse(await readFile(path, "utf8")), stale).toEqual({ pid: process.pid, host: hostname(), boot: bootId() });
      await lock.release();
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it("takes over a lock written before this host last booted, though its pid is alive now (a power loss)", async () => {
    expect(bootId()).toMatch(/^[0-9a-f-]{36}$/);
    // pid 1 is alive: after a reboot, the pid a lock names may be any process's.
    await writeFile(path, `${JSON.stringify({ pid: 1, host: hostname(), boot: "00000000-0000-4000-8000-000000000000" })}\n`);
    const lock = await takePidLock(path, WORDS);
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ pid: process.pid });
    await lock.release();
    // The same live pid written in this boot is refused.
    await writeFile(path, `${JSON.stringify({ pid: 1, host: hostname(), boot: bootId() })}\n`);
    await expect(takePidLock(path, WORDS)).rejects.toThrow("another tool (pid 1) is working in x");
  });

  it("releases only its own lock, not one that replaced it", async () => {
    const lock = await takePidLock(path, WORDS);
    await rm(path);
    await writeFile(path, owner(process.ppid));
    await lock.release();
    expect(await readFile(path, "utf8")).toBe(owner(process.ppid));
  });
});

describe("takeOverStaleLock", () => {
  const refuseLive = (o: LockOwner): void => {
    if (o.pid !== DEAD) throw new Error(`live: ${o.pid}`);
  };

  it("lets exactly one of two takers that judged the same lock stale replace it", async () => {
    // Two other live processes (pid 1 and this test's parent): this pid in a guard is an earlier process's.
    const mine = [join(dir, "a"), join(dir, "b")];
    await writeFile(mine[0]!, owner(1));
    await writeFile(mine[1]!, owner(process.ppid));
    // Rounds, as the interleaving varies: without the guard about one in a hundred let both replace it.
    for (let round = 0; round < 100; round++) {
      await writeFile(path, owner(DEAD));
      const results = await Promise.allSettled(mine.map((m) => takeOverStaleLock(path, m, refuseLive, "UNAVAILABLE")));
      const won = results.flatMap((r, i) => (r.status === "fulfilled" && r.value ? [i] : []));
      expect(won).toHaveLength(1);
      // The other found the guard taken (false), or the winner's live lock under it (refused).
      const lost = results.filter((r) => (r.status === "fulfilled" && !r.value) || (r.status === "rejected" && /^live:/.test((r.reason as Error).message)));
      expect(lost).toHaveLength(1);
      expect(await readFile(path, "utf8")).toBe(await readFile(mine[won[0]!]!, "utf8"));
      expect((await readdir(dir)).sort()).toEqual(["a", "b", "x.lock"]);
      await rm(path);
    }
  });

  it("waits for a taker that is alive, and names the guard a dead one left", async () => {
    await writeFile(path, owner(DEAD));
    await writeFile(join(dir, "mine"), owner(process.pid));
    await writeFile(`${path}.takeover`, owner(process.ppid));
    expect(await takeOverStaleLock(path, join(dir, "mine"), refuseLive, "UNAVAILABLE")).toBe(false);
    await writeFile(`${path}.takeover`, owner(DEAD));
    await expect(takeOverStaleLock(path, join(dir, "mine"), refuseLive, "UNAVAILABLE")).rejects.toThrow(
      `${path}.takeover was left by pid ${DEAD}, which stopped while taking over the stale lock ${path}: remove ${path}.takeover`,
    );
    expect(await readFile(path, "utf8")).toBe(owner(DEAD));
  });
});
