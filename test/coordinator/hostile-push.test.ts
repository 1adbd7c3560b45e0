// A real coordinator process refuses hostile pushes (a huge blob of zeros, thousands of files) with clear remote: lines, its peak RSS barely moving.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHostilePushes, type HostilePushResult } from "../../bench/hostile-push/hostile-push.js";
import { MAX_TREE_FILE_BYTES, MAX_TREE_TOTAL_BYTES } from "../../coordinator/src/git/index.js";

// CI sizes (bench/hostile-push runs 100 MiB and 20,000 files): 600 files of 64 KiB are 37.5 MiB, over the
// 32 MiB whole-tree limit; reading them would grow the coordinator's peak by more than the headroom below.
const ZERO_BYTES = 64 * 1024 * 1024;
const FILES = 600;
const FILE_BYTES = 64 * 1024;
/** Peak RSS may grow this much over the baseline push (measured: ~2 MiB); reading either tree would take more. */
const HEADROOM_MIB = 32;

describe("hostile pushes", () => {
  let work: string;
  let r: HostilePushResult;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "nk-hostile-"));
    r = await runHostilePushes({ workDir: work, zeroBytes: ZERO_BYTES, smallFiles: FILES, smallFileBytes: FILE_BYTES });
  }, 240_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("accepts the example inventory first (the baseline)", () => {
    expect(r.base.accepted).toBe(true);
    expect(r.base.remote).toContainEqual(expect.stringMatching(/^nk: inventory valid at [0-9a-f]{12}: 5 nodes$/));
  });

  it("refuses a blob of 64 MiB of zeros without reading it", () => {
    expect(r.zeros.accepted).toBe(false);
    expect(r.zeros.remote).toContain(`manifests/zeros.yaml:1:1 not read: larger than ${MAX_TREE_FILE_BYTES} bytes (${ZERO_BYTES})`);
    expect(r.zeros.remote).toContainEqual(expect.stringMatching(/^nk: rejected at [0-9a-f]{12}: 1 error \(nothing was changed\)$/));
  });

  it("refuses thousands of files that together exceed the whole-tree limit, before reading them", () => {
    expect(r.files.accepted).toBe(false);
    // The example's own few files come on top of the bulk.
    const m = /^nk: the tree's (\d+) readable files hold (\d+) bytes together; nk reads at most (\d+) \(keep large files out of the inventory repo\)$/.exec(r.files.remote[0] ?? "");
    expect(m, r.files.remote.join("\n")).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(FILES);
    expect(Number(m![2])).toBeGreaterThan(FILES * FILE_BYTES);
    expect(Number(m![3])).toBe(MAX_TREE_TOTAL_BYTES);
    expect(r.files.remote).toContainEqual(expect.stringMatching(/^nk: rejected at [0-9a-f]{12}: too large to validate \(nothing was changed\)$/));
  });

  it("keeps the coordinator's peak RSS within a bound", () => {
    // VmHWM of the coordinator process, from /proc/<pid>/status after each push.
    expect(r.zeros.hwmMiB - r.base.hwmMiB).toBeLessThan(HEADROOM_MIB);
    expect(r.files.hwmMiB - r.base.hwmMiB).toBeLessThan(HEADROOM_MIB);
    expect(r.files.hwmMiB).toBeLessThan(512);
  });
});
