// History-then-live event delivery without gaps or duplicates, for any Store (used by WatchEvents).
import type { EventRecord, ReadEventsOptions, Store } from "./store.js";

/**
 * Subscribes first and buffers, then reads history, then drains the buffer skipping what history
 * already covered: every event after `afterSeq` reaches `deliver` once, in seq order.
 * Returns the unsubscribe function once history has been delivered.
 */
export async function followEvents(store: Store, options: ReadEventsOptions, deliver: (event: EventRecord) => void): Promise<() => void> {
  let buffered: EventRecord[] | undefined = [];
  let lastSeq = options.afterSeq ?? 0;
  const send = (event: EventRecord): void => {
    if (event.seq <= lastSeq) return;
    lastSeq = event.seq;
    deliver(event);
  };
  const unsubscribe = store.onEvent((event) => (buffered ? buffered.push(event) : send(event)));
  try {
    for (const event of await store.readEvents(options)) send(event);
  } catch (err) {
    unsubscribe();
    throw err;
  }
  const pending = buffered;
  buffered = undefined;
  for (const event of pending) send(event);
  return unsubscribe;
}
