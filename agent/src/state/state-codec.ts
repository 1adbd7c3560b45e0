// Validates persisted agent state (schema version 1) and salvages the bad history from a damaged file.
import { NkError } from "../../../shared/src/errors/index.js";
import { AGENT_STATE_VERSION, DEFAULT_MACHINE_CONFIG, PHASES, type AgentState, type BadBundle, type Generation, type Prebuilt } from "../apply/index.js";

type Obj = Record<string, unknown>;

class Reader {
  constructor(private readonly path: string) {}

  fail(msg: string): never {
    throw new NkError("STATE_CORRUPT", `state.${this.path}: ${msg}`);
  }

  at(key: string | number): Reader {
    return new Reader(this.path ? `${this.path}.${key}` : String(key));
  }
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function str(o: Obj, key: string, r: Reader): string {
  const v = o[key];
  return typeof v === "string" ? v : r.at(key).fail("expected a string");
}
function num(o: Obj, key: string, r: Reader): number {
  const v = o[key];
  return typeof v === "number" && Number.isFinite(v) ? v : r.at(key).fail("expected a number");
}
function bool(o: Obj, key: string, r: Reader): boolean {
  const v = o[key];
  return typeof v === "boolean" ? v : r.at(key).fail("expected a boolean");
}
function nullable<T>(o: Obj, key: string, r: Reader, read: (v: Obj, r: Reader) => T): T | null {
  const v = o[key];
  if (v === null) return null;
  return isObj(v) ? read(v, r.at(key)) : r.at(key).fail("expected an object or null");
}
function nullableStr(o: Obj, key: string, r: Reader): string | null {
  return o[key] === null ? null : str(o, key, r);
}
function nullableNum(o: Obj, key: string, r: Reader): number | null {
  return o[key] === null ? null : num(o, key, r);
}
function oneOf<T extends string>(o: Obj, key: string, r: Reader, allowed: readonly T[]): T {
  const v = str(o, key, r);
  return (allowed as readonly string[]).includes(v) ? (v as T) : r.at(key).fail(`unknown value ${JSON.stringify(v)}`);
}
function list<T>(o: Obj, key: string, r: Reader, read: (v: unknown, r: Reader) => T): T[] {
  const v = o[key];
  return Array.isArray(v) ? v.map((item, i) => read(item, r.at(key).at(i))) : r.at(key).fail("expected a list");
}
function obj(v: unknown, r: Reader): Obj {
  return isObj(v) ? v : r.fail("expected an object");
}

function readPrebuilt(p: Obj, r: Reader): Prebuilt {
  return { systemPath: str(p, "systemPath", r), cacheUrl: str(p, "cacheUrl", r), cachePublicKey: str(p, "cachePublicKey", r), fallbackLocal: bool(p, "fallbackLocal", r) };
}

function readGeneration(a: Obj, ar: Reader): Generation {
  return { revision: str(a, "revision", ar), sha256: str(a, "sha256", ar), systemPath: str(a, "systemPath", ar) };
}

function readBad(v: unknown, r: Reader): BadBundle {
  const o = obj(v, r);
  return { sha256: str(o, "sha256", r), revision: str(o, "revision", r), reason: str(o, "reason", r), at: num(o, "at", r) };
}

/** Checks every field; throws NkError STATE_CORRUPT naming the first bad one. */
export function parseAgentState(value: unknown): AgentState {
  const r = new Reader("");
  const o = obj(value, new Reader("(root)"));
  if (o.version !== AGENT_STATE_VERSION) r.at("version").fail(`unsupported state version ${JSON.stringify(o.version)}`);
  const attempts = obj(o.attempts, r.at("attempts"));
  return {
    version: AGENT_STATE_VERSION,
    phase: oneOf(o, "phase", r, PHASES),
    applied: nullable(o, "applied", r, readGeneration),
    // Absent in state written before the guard's rollback was followed: not known.
    previous: o.previous === undefined ? null : nullable(o, "previous", r, readGeneration),
    rebootPending: bool(o, "rebootPending", r),
    target: nullable(o, "target", r, (t, tr) => ({
      revision: str(t, "revision", tr),
      sha256: str(t, "sha256", tr),
      bundleDir: str(t, "bundleDir", tr),
      rebootPolicy: oneOf(t, "rebootPolicy", tr, ["auto", "always", "never"] as const),
      checks: list(t, "checks", tr, (c, cr) => {
        const co = obj(c, cr);
        return { name: str(co, "name", cr), command: list(co, "command", cr, (w, wr) => (typeof w === "string" ? w : wr.fail("expected a string"))), expect: str(co, "expect", cr), timeoutMs: num(co, "timeoutMs", cr) };
      }),
      healthDeadlineMs: num(t, "healthDeadlineMs", tr),
      // Absent in state written by an agent before activation timeouts: that agent's default.
      activationTimeoutMs: t.activationTimeoutMs === undefined ? DEFAULT_MACHINE_CONFIG.defaultActivationTimeoutMs : num(t, "activationTimeoutMs", tr),
      // Absent in state written before builders: build locally, as that agent would have.
      prebuilt: t.prebuilt === undefined ? null : nullable(t, "prebuilt", tr, readPrebuilt),
      // Absent in state written before etcd snapshots: none (that agent would not have saved one).
      etcdSnapshot: t.etcdSnapshot === undefined ? null : nullableStr(t, "etcdSnapshot", tr),
      systemPath: nullableStr(t, "systemPath", tr),
      rebootNeeded: bool(t, "rebootNeeded", tr),
      disruption: t.disruption === null ? null : oneOf(t, "disruption", tr, ["reboot", "service-restart"] as const),
      rollbackTo: nullableStr(t, "rollbackTo", tr),
      startedAt: num(t, "startedAt", tr),
    })),
    lease: nullable(o, "lease", r, (l, lr) => ({
      fencingToken: num(l, "fencingToken", lr),
      kind: oneOf(l, "kind", lr, ["reboot", "service-restart"] as const),
      releasing: bool(l, "releasing", lr),
    })),
    rebootFromBootId: nullableStr(o, "rebootFromBootId", r),
    deadlineAt: nullableNum(o, "deadlineAt", r),
    attempts: { reboot: num(attempts, "reboot", r.at("attempts")), rollback: num(attempts, "rollback", r.at("attempts")) },
    failedBuild: nullable(o, "failedBuild", r, (f, fr) => ({ sha256: str(f, "sha256", fr), attempts: num(f, "attempts", fr) })),
    bad: list(o, "bad", r, readBad),
    queued: nullable(o, "queued", r, (q, qr) => ({ revision: str(q, "revision", qr), sha256: str(q, "sha256", qr) })),
    lastError: nullableStr(o, "lastError", r),
    facts: nullable(o, "facts", r, (f, fr) => ({
      bootId: str(f, "bootId", fr),
      currentSystem: str(f, "currentSystem", fr),
      bootedSystem: str(f, "bootedSystem", fr),
      observedAt: num(f, "observedAt", fr),
    })),
    updatedAt: num(o, "updatedAt", r),
  };
}

const BAD_ENTRY = /\{"sha256":"([0-9a-f]{64})","revision":"((?:[^"\\]|\\.)*)","reason":"((?:[^"\\]|\\.)*)","at":(\d+)\}/g;

/**
 * Whatever bad-history entries can still be read from a damaged state file: the whole list if the
 * JSON parses, else every well-formed entry after the `"bad"` key (the file is written compactly).
 */
export function salvageBadHistory(text: string): BadBundle[] {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObj(parsed) && Array.isArray(parsed.bad)) {
      return parsed.bad.flatMap((b, i) => {
        try {
          return [readBad(b, new Reader(`bad.${i}`))];
        } catch {
          return [];
        }
      });
    }
  } catch {
    // Not JSON any more: fall through to scanning the text.
  }
  const from = text.indexOf('"bad":[');
  if (from < 0) return [];
  const out: BadBundle[] = [];
  for (const m of text.slice(from).matchAll(BAD_ENTRY)) {
    try {
      out.push({ sha256: m[1]!, revision: JSON.parse(`"${m[2]!}"`) as string, reason: JSON.parse(`"${m[3]!}"`) as string, at: Number(m[4]) });
    } catch {
      // A torn escape sequence: skip this entry only.
    }
  }
  return out;
}
