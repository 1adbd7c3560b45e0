// Shell completion scripts are generated from the real program: every command and option appears, and bash completes with them.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commandSpecs, completionScript, SHELLS } from "./completion.js";
import { buildProgram } from "./program.js";
import { testContext } from "./test-context.js";

const dir = mkdtempSync(join(tmpdir(), "nkctl-completion-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("nkctl completion", () => {
  const program = buildProgram(testContext());
  const specs = commandSpecs(program);

  it("walks the whole command tree, global options included everywhere", () => {
    const paths = specs.map((s) => s.path.join(" "));
    for (const p of ["", "status", "nodes", "lease", "lease list", "lease release", "rollout pause", "secret set", "import nk3", "completion"]) expect(paths).toContain(p);
    for (const s of specs) expect(s.flags.flatMap((f) => f.flags)).toContain("--output");
    const leaseList = specs.find((s) => s.path.join(" ") === "lease list")!;
    expect(leaseList.flags.flatMap((f) => f.flags)).toEqual(expect.arrayContaining(["--watch", "--interval", "--count"]));
  });

  it("names every command and every long option in each shell's script", () => {
    for (const shell of SHELLS) {
      const script = completionScript(program, shell);
      for (const s of specs) {
        for (const c of s.subcommands) expect(script, `${shell}: ${c.name}`).toContain(c.name);
        for (const f of s.flags) for (const flag of f.flags) expect(script, `${shell}: ${flag}`).toContain(shell === "fish" ? flag.replace(/^--?/, "") : flag);
      }
    }
  });

  it("prints the script through the command itself", async () => {
    const ctx = testContext();
    await buildProgram(ctx).parseAsync(["node", "nkctl", "completion", "fish"]);
    expect(ctx.text()).toBe(completionScript(buildProgram(testContext()), "fish"));
    expect(ctx.text()).toContain("complete -c nkctl -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'");
  });

  it("completes commands, subcommands, choices and flags in a real bash", () => {
    const file = join(dir, "nkctl.bash");
    writeFileSync(file, completionScript(program, "bash"));
    const complete = (...words: string[]): string[] => {
      const script = `source ${JSON.stringify(file)}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _nkctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return execFileSync("bash", ["-c", script], { encoding: "utf8" }).split("\n").filter(Boolean);
    };
    expect(complete("nkctl", "le")).toEqual(["lease"]);
    expect(complete("nkctl", "lease", "")).toEqual(expect.arrayContaining(["list", "release", "--output"]));
    expect(complete("nkctl", "-o", "")).toEqual(["table", "wide", "json", "yaml"]);
    expect(complete("nkctl", "-o", "yaml", "lease", "list", "--w")).toEqual(["--watch"]);
    expect(complete("nkctl", "--coordinator", "c1:7443", "rollout", "")).toEqual(expect.arrayContaining(["status", "pause", "resume"]));
    expect(complete("nkctl", "completion", "")).toEqual(expect.arrayContaining(["bash", "zsh", "fish"]));
  });

  it("gives zsh the same tree through bashcompinit, and scripts bash and zsh parse", () => {
    expect(completionScript(program, "zsh")).toMatch(/^#compdef nkctl\n/);
    expect(completionScript(program, "zsh")).toContain(completionScript(program, "bash").split("\n").slice(1).join("\n"));
    expect(spawnSync("bash", ["-n", "-c", completionScript(program, "bash")]).status).toBe(0);
    if (spawnSync("zsh", ["--version"]).status === 0) expect(spawnSync("zsh", ["-n", "-c", completionScript(program, "zsh")]).status).toBe(0);
  });
});
