import { describe, expect, it } from "vitest";
import { nearestName } from "./nearest-name.js";

describe("nearestName", () => {
  const keys = ["listen", "publicStatus", "maxPushBytes", "plaintext", "publicUrl"];
  it("finds a misspelt, mis-cased or transposed key", () => {
    expect(nearestName("publicStaus", keys)).toBe("publicStatus");
    expect(nearestName("PublicURL", keys)).toBe("publicUrl");
    expect(nearestName("lsiten", keys)).toBe("listen");
  });
  it("suggests nothing for a word unlike every key", () => {
    expect(nearestName("colour", keys)).toBeUndefined();
    expect(nearestName("x", keys)).toBeUndefined();
  });
});
