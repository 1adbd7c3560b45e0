// GroupCommit: requests during a write share the next one; a failed write refuses everything after it.
import { describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { GroupCommit } from "./group-commit.js";

describe("GroupCommit", () => {
  it("runs one write for requests made together and one more for those made during it", async () => {
    let value = 0;
    const written: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gc = new GroupCommit(async () => {
      written.push(value); // captured before the first await, as the contract requires
      if (written.length === 1) await gate;
    }, "test");
    const first = [1, 2, 3].map(() => gc.commit());
    value = 3;
    await new Promise((r) => setImmediate(r));
    value = 5;
    const second = [gc.commit(), gc.commit()];
    const settled = gc.settled();
    release();
    await Promise.all([...first, ...second, settled]);
    expect(written).toEqual([3, 5]);
    expect(gc.writeCount).toBe(2);
  });

  it("rejects the failed batch, the waiting one and every later commit", async () => {
    let calls = 0;
    const gc = new GroupCommit(async () => {
      calls++;
      await Promise.resolve();
      throw new Error("ENOSPC");
    }, "state.json");
    const a = gc.commit();
    await new Promise((r) => setImmediate(r));
    const b = gc.commit();
    await expect(a).rejects.toSatisfy((e) => isNkError(e, "IO") && e.message.includes("ENOSPC"));
    await expect(b).rejects.toSatisfy((e) => isNkError(e, "IO"));
    await expect(gc.commit()).rejects.toSatisfy((e) => isNkError(e, "IO"));
    expect(calls).toBe(1);
    expect(gc.failed?.message).toContain("state.json");
  });
});
