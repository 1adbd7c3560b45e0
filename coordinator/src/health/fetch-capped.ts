// GET with a timeout, and reading at most so many bytes of the answer: what every HTTP-based check needs.

export async function get(url: string, timeoutMs: number, signal: AbortSignal | undefined, accept: string): Promise<Response> {
  const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
  return fetch(url, { headers: { accept }, signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]) });
}

/**
 * At most `max` bytes of the body; the rest is never read (the connection is dropped), so a huge
 * or endless answer costs no more memory than that.
 */
export async function readCapped(res: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  if (res.body === null) return { text: "", truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: Buffer.concat(chunks).toString("utf8"), truncated: false };
    if (size + value.length > max) {
      chunks.push(value.subarray(0, max - size));
      await reader.cancel().catch(() => undefined);
      return { text: Buffer.concat(chunks).toString("utf8"), truncated: true };
    }
    chunks.push(value);
    size += value.length;
  }
}

