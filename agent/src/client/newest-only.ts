// Messages that need async preparation before they are handed on, handed on newest-only.

/**
 * Returns a handler that prepares each message (e.g. fetches a bundle's secrets) and then hands it on, unless a newer
 * message arrived meanwhile. Preparations run concurrently and may finish in any order; without this, an older
 * desired bundle whose preparation finished last overrode a newer one, and the node rested on a stale bundle.
 */
export function newestOnly<T>(prepare: (message: T) => Promise<void>, handOn: (message: T) => void): (message: T) => void {
  let received = 0;
  return (message) => {
    const seq = ++received;
    const done = (): void => {
      if (seq === received) handOn(message);
    };
    prepare(message).then(done, done);
  };
}
