// Waits on one long-lived signal leave no listener behind (the agent's health poll added one per round before).
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { abortableSleep, afterTimer, unlessAborted } from "./abortable-sleep.js";

const listeners = (signal: AbortSignal): number => getEventListeners(signal, "abort").length;

describe("abortableSleep", () => {
  it("leaves no abort listener behind after many rounds on one signal", async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) await abortableSleep(1, controller.signal);
    expect(listeners(controller.signal)).toBe(0);
  });

  it("rejects with the signal's reason when aborted first, also when already aborted", async () => {
    const controller = new AbortController();
    const slept = abortableSleep(60_000, controller.signal);
    controller.abort(new Error("stopping"));
    await expect(slept).rejects.toThrow("stopping");
    await expect(abortableSleep(0, controller.signal)).rejects.toThrow("stopping");
  });
});

describe("afterTimer", () => {
  it("cancels the injected clock's timer on abort, and removes its listener when the timer fires, even at once", async () => {
    const controller = new AbortController();
    // A fake clock that fires synchronously, as a test clock at a passed deadline does.
    await afterTimer((fire) => (fire(), () => undefined), controller.signal);
    expect(listeners(controller.signal)).toBe(0);

    let cancelled = 0;
    const waiting = afterTimer(() => () => void cancelled++, controller.signal);
    expect(listeners(controller.signal)).toBe(1);
    controller.abort(new Error("deposed"));
    await expect(waiting).rejects.toThrow("deposed");
    expect(cancelled).toBe(1);
  });
});

describe("unlessAborted", () => {
  it("settles as the work does and then stops listening; rejects at once on abort while the work runs on", async () => {
    const controller = new AbortController();
    expect(await unlessAborted(Promise.resolve(7), controller.signal)).toBe(7);
    await expect(unlessAborted(Promise.reject(new Error("build failed")), controller.signal)).rejects.toThrow("build failed");
    expect(listeners(controller.signal)).toBe(0);

    let finish!: (v: string) => void;
    const work = new Promise<string>((resolve) => (finish = resolve));
    const waiting = unlessAborted(work, controller.signal);
    controller.abort(new Error("superseded"));
    await expect(waiting).rejects.toThrow("superseded");
    finish("done anyway");
    expect(await work).toBe("done anyway");
  });
});
