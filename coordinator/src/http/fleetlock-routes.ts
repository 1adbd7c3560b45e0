// The FleetLock protocol (zincati on Fedora CoreOS and Flatcar): POST /v1/pre-reboot and /v1/steady-state, each
// answered 200 or with the protocol's error body { kind, value }; the slots themselves are the lease manager's.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { verdictOf, type AccessVerdict, type AuditEntry, type Role } from "../auth/index.js";
import { errorMessage, isNkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { FleetLockAnswer, FleetLockRequest } from "../lease/index.js";
import type { CoordinatorMetrics } from "./coordinator-metrics.js";

export interface FleetLockEndpoint {
  preReboot(request: FleetLockRequest): Promise<FleetLockAnswer>;
  steadyState(request: FleetLockRequest): Promise<FleetLockAnswer>;
}

export interface FleetLockRouteDeps {
  readonly fleetlock: FleetLockEndpoint;
  authenticate(req: FastifyRequest, need: Role): boolean | AccessVerdict | Promise<AccessVerdict>;
  readonly audit?: (entry: AuditEntry) => Promise<unknown>;
  readonly metrics: CoordinatorMetrics;
  readonly log: Logger;
}

/** The protocol's header: it proves the request was meant for a FleetLock server, not a redirect. */
export const FLEETLOCK_HEADER = "fleet-lock-protocol";

/** Error kinds, a small fixed set: zincati counts them in its metrics. */
export type FleetLockErrorKind = "unauthenticated" | "forbidden" | "missing_fleet_lock_header" | "bad_request" | "unknown_group" | "failed_lock" | "failed_unlock" | "not_leader";

const ERROR = {
  type: "object",
  required: ["kind", "value"],
  properties: { kind: { type: "string", description: "error type identifier (bounded set)" }, value: { type: "string", description: "what went wrong, for the host's logs" } },
} as const;

const BODY = {
  type: "object",
  required: ["client_params"],
  properties: {
    client_params: {
      type: "object",
      required: ["id", "group"],
      properties: {
        id: { type: "string", minLength: 1, maxLength: 253, pattern: "^[!-~]+$", description: "the host's client id (zincati: its app-specific machine id); printable ASCII" },
        group: { type: "string", minLength: 1, maxLength: 63, pattern: "^[a-zA-Z0-9.-]+$", description: "the host's reboot group, configured under rollout.fleetlock.groups" },
      },
    },
  },
} as const;

function schema(summary: string) {
  return {
    tags: ["fleetlock"],
    summary,
    security: [{ adminToken: [] }, { basicToken: [] }],
    headers: { type: "object", required: [FLEETLOCK_HEADER], properties: { [FLEETLOCK_HEADER]: { type: "string", enum: ["true"] } } },
    body: BODY,
    response: {
      200: { type: "object", required: ["message"], properties: { message: { type: "string" } } },
      ...Object.fromEntries([400, 401, 403, 409, 500, 503].map((s) => [s, ERROR])),
    },
  } as const;
}

interface Body {
  client_params: { id: string; group: string };
}

function sendKind(reply: FastifyReply, status: number, kind: FleetLockErrorKind, value: string): FastifyReply {
  return reply.code(status).header("cache-control", "no-store").type("application/json; charset=utf-8").send({ kind, value });
}

/** Who asked, per request, for its audit line. */
const actors = new WeakMap<FastifyRequest, string>();
/** Requests whose body passed the schema: only their group and id may appear in an audit line. */
const validated = new WeakSet<FastifyRequest>();

export function registerFleetLockRoutes(app: FastifyInstance, deps: FleetLockRouteDeps): void {
  // The protocol's own example posts with `curl -d`, which labels the JSON as a form: read it as JSON all the same.
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(Object.assign(new Error(`body is not JSON: ${errorMessage(err)}`), { statusCode: 400 }), undefined);
    }
  });

  app.addHook("onRequest", async (req, reply) => {
    const verdict = verdictOf(await deps.authenticate(req, "fleetlock"));
    actors.set(req, verdict.ok ? verdict.principal.name : (verdict.actor ?? "unknown"));
    if (verdict.ok) return;
    if (verdict.status === 403) return void (await sendKind(reply, 403, "forbidden", verdict.message));
    reply.header("www-authenticate", 'Basic realm="nk FleetLock"');
    await sendKind(reply, 401, "unauthenticated", "a FleetLock token is required: put it in zincati's base_url as https://fleetlock:<token>@host:port/ (or send Authorization: Bearer <token>)");
  });

  // Before body validation: a request without the header is refused whatever its body.
  app.addHook("preValidation", async (req, reply) => {
    if (req.headers[FLEETLOCK_HEADER] === "true") return;
    await sendKind(reply, 400, "missing_fleet_lock_header", `the request needs the header "${FLEETLOCK_HEADER}: true" (the FleetLock protocol)`);
  });

  app.addHook("preHandler", async (req) => void validated.add(req));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isNkError(err) && (err.code === "NOT_LEADER" || err.code === "UNAVAILABLE")) return sendKind(reply, 503, "not_leader", err.message);
    if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) return sendKind(reply, 400, "bad_request", `${err.message}; expected {"client_params": {"id": "<client id>", "group": "<group>"}}`);
    deps.log.error({ err: errorMessage(err), url: req.url }, "fleetlock request failed");
    const unlock = req.url.startsWith("/v1/steady-state");
    return sendKind(reply, 500, unlock ? "failed_unlock" : "failed_lock", "internal error");
  });

  // Audited before the answer leaves: a host (or a test) that saw the answer finds the line in the journal.
  app.addHook("onSend", async (req, reply, payload) => {
    const op = req.url.startsWith("/v1/steady-state") ? "steady-state" : "pre-reboot";
    const outcome = reply.statusCode < 400 ? "ok" : kindOf(payload);
    deps.metrics.fleetLockRequest(op, outcome);
    const target = validated.has(req) ? `fleetlock/${(req.body as Body).client_params.group}/${(req.body as Body).client_params.id}` : "";
    const words = reply.statusCode < 400 ? "ok" : `refused: HTTP ${reply.statusCode} ${outcome}`;
    await deps.audit?.({ actor: actors.get(req) ?? "unknown", action: `POST /v1/${op}`, target, outcome: words }).catch((err: unknown) => deps.log.error({ err: errorMessage(err) }, "audit line not stored"));
    return payload;
  });

  const answer = async (reply: FastifyReply, result: FleetLockAnswer, refusal: FleetLockErrorKind) => {
    if (result.ok) return reply.code(200).header("cache-control", "no-store").send({ message: result.message });
    const kind = result.kind === "unknown_group" ? "unknown_group" : refusal;
    return sendKind(reply, kind === "unknown_group" ? 400 : 409, kind, result.message);
  };
  const requestOf = (req: FastifyRequest<{ Body: Body }>): FleetLockRequest => ({ group: req.body.client_params.group, id: req.body.client_params.id, by: actors.get(req) ?? "unknown" });

  app.post<{ Body: Body }>("/v1/pre-reboot", { schema: schema("FleetLock: take (or keep) a reboot slot for the host, now or never (the host retries)") }, async (req, reply) =>
    answer(reply, await deps.fleetlock.preReboot(requestOf(req)), "failed_lock"),
  );
  app.post<{ Body: Body }>("/v1/steady-state", { schema: schema("FleetLock: give the host's reboot slot back (succeeds when it holds none)") }, async (req, reply) =>
    answer(reply, await deps.fleetlock.steadyState(requestOf(req)), "failed_unlock"),
  );
}

function kindOf(payload: unknown): string {
  try {
    const kind = (JSON.parse(String(payload)) as { kind?: unknown }).kind;
    return typeof kind === "string" ? kind : "error";
  } catch {
    return "error";
  }
}
