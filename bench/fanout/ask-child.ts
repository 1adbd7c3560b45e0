// One request to a forked benchmark process over IPC and its one answer (the processes answer in order).
import type { ChildProcess } from "node:child_process";

/** Sends `req` and resolves with the next message; rejects if the process exits first. */
export function askChild<Req extends { kind: string }, Answer>(child: ChildProcess, req: Req, what: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`${what} exited (${code}) before answering ${req.kind}`));
    child.once("exit", onExit);
    child.once("message", (answer: Answer) => {
      child.off("exit", onExit);
      resolve(answer);
    });
    child.send(req);
  });
}
