// Every shell script the repo keeps (a *.sh file, or any tracked file with a sh or bash shebang) is clean under
// shellcheck (.ci/run installs it). The scripts nk renders, such as the installer's install.sh, are checked in their own tests.
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support/repo-root.js";

const noShellcheck = spawnSync("shellcheck", ["--version"]).status !== 0;

function firstLine(path: string): string {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(128);
    return head.toString("utf8", 0, readSync(fd, head, 0, head.length, 0)).split("\n")[0]!;
  } finally {
    closeSync(fd);
  }
}

function shellScripts(): string[] {
  const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
  return tracked.filter((f) => f.endsWith(".sh") || /^#!.*\b(ba)?sh\b/.test(firstLine(join(REPO_ROOT, f))));
}

describe.skipIf(noShellcheck)(`the repo's shell scripts${noShellcheck ? " (shellcheck is not installed: apt-get install shellcheck)" : ""}`, () => {
  const scripts = noShellcheck ? [] : shellScripts();

  it("are found by extension and by shebang", () => {
    expect(scripts).toEqual(expect.arrayContaining([".ci/run", "nixos-module/agent-guard.sh", "scripts/test-under-load.sh", "shared/src/installer/fake-disk-tools.sh"]));
  });

  it.each(scripts)("%s passes shellcheck", (script) => {
    const r = spawnSync("shellcheck", ["--external-sources", join(REPO_ROOT, script)], { encoding: "utf8" });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });
});
