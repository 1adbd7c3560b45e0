// One process of simulated agents for the fan-out benchmark (--agent-processes): FanoutAgents over a share of the
// nodes, driven over IPC by FanoutAgentPool, so that the stand-ins' decoding spreads over cores like real agents'.
import { FanoutAgents, type FanoutAgentsOptions } from "./fanout-agents.js";

export type ChildRequest = { kind: "open"; options: FanoutAgentsOptions } | { kind: "wait"; revision: string; timeoutMs: number } | { kind: "close" };
export type ChildAnswer =
  | { kind: "opened"; channels: number }
  | { kind: "arrived"; arrivals: number[]; errors: string[]; meanBytes: number }
  | { kind: "failed"; error: string; errors: string[] };

let agents: FanoutAgents | null = null;
const send = (answer: ChildAnswer): void => void process.send!(answer);

process.on("message", (req: ChildRequest) => {
  if (req.kind === "open") {
    agents = new FanoutAgents(req.options);
    agents.open();
    send({ kind: "opened", channels: agents.channelCount });
  } else if (req.kind === "wait") {
    const a = agents!;
    a.waitAll(req.revision, req.timeoutMs).then(
      () => send({ kind: "arrived", arrivals: a.arrivals(), errors: a.errors, meanBytes: a.meanMessageBytes() }),
      (err: unknown) => send({ kind: "failed", error: err instanceof Error ? err.message : String(err), errors: a.errors }),
    );
  } else {
    agents?.close();
    process.disconnect();
  }
});
