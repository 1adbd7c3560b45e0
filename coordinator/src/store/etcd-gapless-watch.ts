// A watch from a given revision that, after a lost stream, resumes just after the last event it delivered.
import type { IWatchResponse, WatchBuilder, Watcher } from "etcd3";

/**
 * etcd3's Watcher resumes at the last response header's revision + 1. That header is etcd's current
 * revision, not the last event's: a "created" answer carries it before any catch-up event has come,
 * and a catch-up batch cut at 1,000 revisions carries it too. A stream lost in between resumes past
 * events never delivered. This keeps the resume point at the last delivered event's revision + 1
 * (etcd's own client does the same), or the header's + 1 for a progress notice, which etcd sends only
 * once everything up to it was delivered.
 */
export function keepResumePoint(watcher: Watcher, from: bigint): void {
  let next = from;
  const pin = (): void => {
    watcher.request.start_revision = next.toString();
  };
  pin();
  // Registered after the Watcher's own listeners, so these run after its updateRevision and undo it.
  watcher.on("data", (res: IWatchResponse) => {
    const last = res.events[res.events.length - 1];
    // Never backwards: a progress notice from a member that lags can carry an older revision than was delivered.
    const after = last ? BigInt(last.kv.mod_revision) + 1n : res.header && !res.created && !res.canceled ? BigInt(res.header.revision) + 1n : next;
    if (after > next) next = after;
    pin();
  });
  watcher.on("connected", pin);
}

/**
 * Creates the watch (`attach` adds listeners before it connects, so no early event is missed) and
 * resolves once etcd has created it; rejects if etcd refuses it.
 */
export function watchGapless(builder: WatchBuilder, from: bigint, attach: (watcher: Watcher) => void): Promise<Watcher> {
  const watcher = builder.startRevision(from.toString()).watcher();
  keepResumePoint(watcher, from);
  attach(watcher);
  return new Promise((resolve, reject) => {
    const onConnected = (): void => {
      watcher.off("error", onError);
      resolve(watcher);
    };
    const onError = (err: Error): void => {
      watcher.off("connected", onConnected);
      reject(err);
    };
    watcher.once("connected", onConnected).once("error", onError);
  });
}
