import { expect, it } from "vitest";
import { memoPerStorePath } from "./store-path-memo.js";

it("reads each store path once, a failed read again, and starts over past 64 paths", async () => {
  const reads: string[] = [];
  let fail = true;
  const hasK3s = memoPerStorePath(async (path) => {
    reads.push(path);
    if (fail) throw new Error("EIO");
    return path.endsWith("-a");
  });
  await expect(hasK3s("/nix/store/x-a")).rejects.toThrow("EIO");
  fail = false;
  expect(await hasK3s("/nix/store/x-a")).toBe(true);
  expect(await hasK3s("/nix/store/x-a")).toBe(true);
  expect(await hasK3s("/nix/store/x-b")).toBe(false);
  expect(await hasK3s("/nix/store/x-b")).toBe(false);
  expect(reads).toEqual(["/nix/store/x-a", "/nix/store/x-a", "/nix/store/x-b"]);
  for (let i = 0; i < 62; i++) await hasK3s(`/nix/store/p${i}`);
  await hasK3s("/nix/store/x-a");
  expect(reads.filter((p) => p === "/nix/store/x-a")).toHaveLength(2);
  await hasK3s("/nix/store/p-64th");
  await hasK3s("/nix/store/x-a");
  expect(reads.filter((p) => p === "/nix/store/x-a")).toHaveLength(3);
});
