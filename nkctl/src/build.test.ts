// `nkctl build log` output: the header naming the build, the log as written, and the empty-log wording.
import { describe, expect, it } from "vitest";
import { buildLines, formatBuildLog } from "./build.js";

const REV = "0123456789abcdef0123456789abcdef01234567";

describe("formatBuildLog", () => {
  it("names node, short revision and state, then prints the log with one final newline", () => {
    expect(formatBuildLog({ node: "n1", revision: REV, state: "failed", log: "building '/nix/store/x.drv'\nerror: boom" })).toBe(
      "# build of n1 at 0123456789ab: failed\nbuilding '/nix/store/x.drv'\nerror: boom\n",
    );
    expect(formatBuildLog({ node: "n1", revision: REV, state: "pushed", log: "done\n" })).toBe("# build of n1 at 0123456789ab: pushed\ndone\n");
  });

  it("says why there is no log while the build runs", () => {
    expect(formatBuildLog({ node: "n2", revision: REV, state: "building", log: "" })).toBe(
      "# build of n2 at 0123456789ab: building\n# (no log yet: the build has not finished)\n",
    );
    expect(formatBuildLog({ node: "n2", revision: REV, state: "failed", log: "" })).toBe("# build of n2 at 0123456789ab: failed\n# (no log yet)\n");
  });
});

describe("buildLines (nkctl status, builders mode)", () => {
  const OTHER = "fedcba9876543210fedcba9876543210fedcba98";
  it("counts each revision's jobs by state in pipeline order, names each failed node with its error, then each pushed build's expected disruption", () => {
    const lines = buildLines([
      { node: "n1", revision: REV, state: "pushed", builder: "b1", error: "", disruption: "reboot", disruptionReason: "reboot: kernel linux-6.6.30 → linux-6.6.32" },
      { node: "n5", revision: REV, state: "pushed", builder: "b1", error: "", disruption: "no-op", disruptionReason: "the built system is the one running" },
      { node: "n2", revision: OTHER, state: "building", builder: "b1", error: "", disruption: "", disruptionReason: "" },
      { node: "n3", revision: OTHER, state: "failed", builder: "b2", error: "nix build exited with 1", disruption: "", disruptionReason: "" },
      { node: "n4", revision: OTHER, state: "queued", builder: "", error: "", disruption: "", disruptionReason: "" },
    ]);
    expect(lines).toEqual([
      ["builds", "0123456789ab: 2 pushed"],
      ["builds", "fedcba987654: 1 queued, 1 building, 1 failed"],
      ["build failed", "n3 @fedcba987654: nix build exited with 1"],
      ["expected", "n1 @0123456789ab: reboot: kernel linux-6.6.30 → linux-6.6.32"],
    ]);
  });

  it("says when builders mode has no job yet", () => {
    expect(buildLines([])).toEqual([["builds", "no build jobs yet"]]);
  });
});
