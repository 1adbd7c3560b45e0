// Loads and saves the agent's state file atomically (temp file, fsync, rename, fsync dir); survives corruption.
import { mkdir, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { NkError, errorMessage } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { initialAgentState, type AgentState } from "../apply/index.js";
import { parseAgentState, salvageBadHistory } from "./state-codec.js";

export const DEFAULT_STATE_PATH = "/var/lib/nk-agent/state.json";

export interface StateStoreOptions {
  readonly path?: string;
  readonly now?: () => number;
  readonly log?: Logger;
}

export interface LoadedState {
  readonly state: AgentState;
  /** Set (code STATE_CORRUPT) when the file could not be used and a safe idle state was started instead. */
  readonly recovered: NkError | null;
  /** Where the unusable file was moved. */
  readonly corruptPath: string | null;
}

export class StateStore {
  readonly path: string;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  /** Saves run one after another, never interleaved on the temp file. */
  private queue: Promise<void> = Promise.resolve();

  constructor(options: StateStoreOptions = {}) {
    this.path = options.path ?? DEFAULT_STATE_PATH;
    this.now = options.now ?? Date.now;
    this.log = options.log;
  }

  /** Strict read: the state, null if there is no file yet, or NkError STATE_CORRUPT. */
  async read(): Promise<AgentState | null> {
    const text = await this.readText();
    if (text === null) return null;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new NkError("STATE_CORRUPT", `${this.path} is not valid JSON: ${errorMessage(err)}`, { cause: err });
    }
    return parseAgentState(json);
  }

  /**
   * The state to start from. A corrupt file is moved aside (`.corrupt-<ts>`) and replaced by an
   * idle state that keeps every bad-history entry still readable, so a bad bundle is not retried.
   */
  async load(): Promise<LoadedState> {
    try {
      return { state: (await this.read()) ?? initialAgentState(this.now()), recovered: null, corruptPath: null };
    } catch (err) {
      if (!(err instanceof NkError) || err.code !== "STATE_CORRUPT") throw err;
      const text = (await this.readText()) ?? "";
      const corruptPath = `${this.path}.corrupt-${this.now()}`;
      await rename(this.path, corruptPath);
      const bad = salvageBadHistory(text);
      const state: AgentState = { ...initialAgentState(this.now()), bad, lastError: `state file was corrupt (${err.message}); moved to ${corruptPath}` };
      this.log?.error({ err, corruptPath, salvagedBad: bad.length }, "agent state file corrupt; starting idle");
      await this.save(state);
      return { state, recovered: err, corruptPath };
    }
  }

  save(state: AgentState): Promise<void> {
    const run = this.queue.then(() => this.write(state));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(state: AgentState): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new NkError("IO", `cannot write ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
    // Durable (the rename reaches the disk) before anything irreversible follows.
    await writeFileAtomic(this.path, `${JSON.stringify(state)}\n`, 0o600);
  }

  private async readText(): Promise<string | null> {
    try {
      return await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new NkError("IO", `cannot read ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
  }
}
