// `nk-agent retry`: asks the running agent, through its state directory, to retry a stuck rollback or a refused bundle.
import { loadConfigFile } from "../../shared/src/config/index.js";
import { NkError } from "../../shared/src/errors/index.js";
import { AGENT_FLAGS, agentConfigSchema } from "./config/index.js";
import { StateStore, planRetry, retryRequestPath, writeRetryRequest } from "./state/index.js";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface RetryFlags {
  readonly config?: string;
  readonly stateDir?: string;
  readonly bundle?: string;
}

/** The config the NixOS module runs the agent on: where a plain `nk-agent retry` finds the state directory. */
export const RUNTIME_CONFIG = "/run/nk/agent.json";

/** The state directory: --state-dir, else the stateDir of -c (or of the module's runtime config), else the default. */
async function stateDirOf(flags: RetryFlags, runtimeConfig: string): Promise<string> {
  if (flags.stateDir !== undefined) return flags.stateDir;
  const file = flags.config ?? (existsSync(runtimeConfig) ? runtimeConfig : undefined);
  // /run/nk is root-only: another user cannot see the runtime config, nor write the request.
  if (file === undefined && process.geteuid?.() !== 0) throw new NkError("INVALID_ARGUMENT", `cannot see ${runtimeConfig}: run it as root (sudo nk-agent retry), or name --state-dir`);
  if (file === undefined) return "/var/lib/nk-agent";
  const config = await loadConfigFile(agentConfigSchema, file, {}, AGENT_FLAGS);
  return config.stateDir;
}

/** Writes the request; returns what the operator reads. Refuses (INVALID_ARGUMENT) a retry that cannot do anything. */
export async function retryCommand(flags: RetryFlags, now: () => number = Date.now, runtimeConfig = RUNTIME_CONFIG): Promise<string> {
  const stateDir = await stateDirOf(flags, runtimeConfig);
  const state = await new StateStore({ path: join(stateDir, "state.json") }).read();
  if (state === null) throw new NkError("INVALID_ARGUMENT", `no agent state in ${stateDir} (nothing applied yet, or the wrong --state-dir): nothing to retry`);
  const plan = planRetry(state, flags.bundle);
  await writeRetryRequest(stateDir, { atMs: now(), ...(plan.sha256 ? { sha256: plan.sha256 } : {}) });
  return [
    `asked nk-agent to retry (${retryRequestPath(stateDir)}): it ${plan.effect}.`,
    "The running agent takes the request at once (a stopped one when it starts); follow it with journalctl -u nk-agent -f or nkctl nodes.",
  ].join("\n");
}
