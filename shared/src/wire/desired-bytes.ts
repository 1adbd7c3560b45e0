// A node's WatchDesiredResponse{desired} written straight into one buffer, byte for byte what the generated encoder
// writes. A push sends every node its message: the generic writer (a Buffer per file, chunked growth, a final copy)
// was ~80 % of the fan-out's CPU (issue 24); here each string is measured once and written once.
import { RebootPolicy as WireRebootPolicy } from "../proto/gen/nk/v1/common.js";
import type { DesiredBundle } from "./desired-codec.js";

const POLICY: Record<DesiredBundle["rebootPolicy"], number> = {
  auto: WireRebootPolicy.REBOOT_POLICY_AUTO,
  always: WireRebootPolicy.REBOOT_POLICY_ALWAYS,
  never: WireRebootPolicy.REBOOT_POLICY_NEVER,
};

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** A length-delimited field of `length` bytes (every tag here is below 16: one byte). */
function delimited(length: number): number {
  return 1 + varintSize(length) + length;
}

function stringSize(s: string): number {
  return s === "" ? 0 : delimited(Buffer.byteLength(s));
}

function uintSize(n: number): number {
  return n === 0 ? 0 : 1 + varintSize(n);
}

class Out {
  at = 0;
  constructor(readonly buf: Buffer) {}

  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.at++] = n;
  }

  string(tag: number, s: string): void {
    if (s === "") return;
    this.buf[this.at++] = tag;
    this.varint(Buffer.byteLength(s));
    this.at += this.buf.write(s, this.at, "utf8");
  }

  uint(tag: number, n: number): void {
    if (n === 0) return;
    this.buf[this.at++] = tag;
    this.varint(n);
  }

  header(tag: number, length: number): void {
    this.buf[this.at++] = tag;
    this.varint(length);
  }
}

/** Field tags of nk.v1.Desired (field number << 3 | wire type), in the generated encoder's order. */
const T = { node: 10, revision: 18, sha256: 26, file: 34, agentVersion: 42, policy: 48, check: 58, secret: 66, health: 72, created: 80, activation: 88, prebuilt: 98, apiVip: 106, etcdSnapshot: 114 };

/**
 * The encoded nk.v1.WatchDesiredResponse with only `desired` set, as `WatchDesiredResponse.encode(desiredToWire(d))`.
 * `into` gives the buffer of the exact size to write (default: a new one).
 */
export function encodeDesiredResponse(d: DesiredBundle, into: (size: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const fileSizes = d.files.map((f) => stringSize(f.path) + stringSize(f.content));
  const checkSizes = d.checks.map((c) => stringSize(c.name) + c.command.reduce((n, a) => n + delimited(Buffer.byteLength(a)), 0) + stringSize(c.expect) + uintSize(c.timeoutMs));
  const p = d.prebuilt;
  const prebuiltSize = p ? stringSize(p.systemPath) + stringSize(p.cacheUrl) + stringSize(p.cachePublicKey) + (p.fallbackLocal ? 2 : 0) : 0;
  const policy = POLICY[d.rebootPolicy];
  const body =
    stringSize(d.node) +
    stringSize(d.revision) +
    stringSize(d.sha256) +
    fileSizes.reduce((n, s) => n + delimited(s), 0) +
    stringSize(d.agentVersion) +
    uintSize(policy) +
    checkSizes.reduce((n, s) => n + delimited(s), 0) +
    d.secretNames.reduce((n, s) => n + delimited(Buffer.byteLength(s)), 0) +
    uintSize(d.healthDeadlineMs) +
    uintSize(d.createdAtMs) +
    uintSize(d.activationTimeoutMs) +
    (p ? delimited(prebuiltSize) : 0) +
    stringSize(d.apiVip ?? "") +
    stringSize(d.etcdSnapshot ?? "");
  const out = new Out(into(delimited(body)));
  out.header(10, body);
  out.string(T.node, d.node);
  out.string(T.revision, d.revision);
  out.string(T.sha256, d.sha256);
  d.files.forEach((f, i) => {
    out.header(T.file, fileSizes[i]!);
    out.string(10, f.path);
    out.string(18, f.content);
  });
  out.string(T.agentVersion, d.agentVersion);
  out.uint(T.policy, policy);
  d.checks.forEach((c, i) => {
    out.header(T.check, checkSizes[i]!);
    out.string(10, c.name);
    for (const arg of c.command) {
      // Repeated strings keep empty entries (only singular fields skip their default).
      out.header(18, Buffer.byteLength(arg));
      out.at += out.buf.write(arg, out.at, "utf8");
    }
    out.string(26, c.expect);
    out.uint(32, c.timeoutMs);
  });
  for (const name of d.secretNames) {
    out.header(T.secret, Buffer.byteLength(name));
    out.at += out.buf.write(name, out.at, "utf8");
  }
  out.uint(T.health, d.healthDeadlineMs);
  out.uint(T.created, d.createdAtMs);
  out.uint(T.activation, d.activationTimeoutMs);
  if (p) {
    out.header(T.prebuilt, prebuiltSize);
    out.string(10, p.systemPath);
    out.string(18, p.cacheUrl);
    out.string(26, p.cachePublicKey);
    if (p.fallbackLocal) out.uint(32, 1);
  }
  out.string(T.apiVip, d.apiVip ?? "");
  out.string(T.etcdSnapshot, d.etcdSnapshot ?? "");
  if (out.at !== out.buf.length) throw new Error(`encodeDesiredResponse wrote ${out.at} of ${out.buf.length} bytes`);
  return out.buf;
}
