// nk-agent retry: finds the state directory as the daemon would, says what the retry will do, writes the request.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ev, reach, run } from "./apply/test-fixtures.js";
import { INSTALL } from "./apply/test-fixtures.js";
import { retryCommand } from "./retry-command.js";
import { RETRY_REQUEST_FILE, StateStore } from "./state/index.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-retry-cmd-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A node that switched to A, found it unhealthy and switched back: A refused. */
async function rolledBackIn(stateDir: string): Promise<string> {
  const state = run([ev.activated(), ev.unhealthy(), ev.activated(INSTALL), ev.healthy(INSTALL)], reach("activating")).state;
  await new StateStore({ path: join(stateDir, "state.json") }).save(state);
  return state.bad[0]!.sha256;
}

describe("nk-agent retry", () => {
  it("reads the state directory from the module's runtime config when given no flag, and writes the request there", async () => {
    const stateDir = join(dir, "state");
    await mkdir(stateDir);
    const sha = await rolledBackIn(stateDir);
    const runtime = join(dir, "agent.json");
    await writeFile(runtime, JSON.stringify({ node: "n1", coordinators: ["c:7443"], caFile: "/etc/nk/ca.pem", tokenFile: "/etc/nk/token", stateDir, system: { kind: "nixos" } }));
    const said = await retryCommand({ bundle: sha.slice(0, 8) }, () => 42, runtime);
    expect(said).toContain(`asked nk-agent to retry (${join(stateDir, RETRY_REQUEST_FILE)}): it forgets that ${sha.slice(0, 12)} rolled back`);
    expect(JSON.parse(await readFile(join(stateDir, RETRY_REQUEST_FILE), "utf8"))).toEqual({ atMs: 42, sha256: sha });
  });

  it("--state-dir wins, and a directory without state is refused before anything is written", async () => {
    await expect(retryCommand({ stateDir: dir }, () => 1, join(dir, "absent.json"))).rejects.toThrow(`no agent state in ${dir} (nothing applied yet, or the wrong --state-dir): nothing to retry`);
    await rolledBackIn(dir);
    await expect(retryCommand({ stateDir: dir }, () => 1, join(dir, "absent.json"))).resolves.toContain("it asks for the desired bundle again");
  });
});
