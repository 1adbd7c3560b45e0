// Builds the coordinator's fastify app: status page, JSON and admin API, /healthz, /metrics, plus plugins main adds (git smart HTTP).
import { verdictOf, type AccessVerdict, type AuditEntry, type Role } from "../auth/index.js";
import type { Server as HttpsServer } from "node:https";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { AdminActions, StatusSource } from "../status/index.js";
import { registerAdminRoutes } from "./admin-routes.js";
import { registerApiRoutes } from "./api-routes.js";
import { registerFleetLockRoutes, type FleetLockEndpoint } from "./fleetlock-routes.js";
import { registerOpenApi, registerOpenApiRoute } from "./openapi.js";
import type { CoordinatorMetrics } from "./coordinator-metrics.js";
import { httpErrorFor, sendError } from "./http-errors.js";
import { lazySchemaController } from "./lazy-schema-controller.js";
import { registerPageRoutes } from "./page-routes.js";
import { refusePlainHttp } from "./refuse-plain-http.js";
import { StatusStream } from "./status-stream.js";

/** JSON bodies here are a reason string at most; plugins that take large bodies (git pushes) stream or set their own route limit. */
export const JSON_BODY_LIMIT = 64 * 1024;

export type HttpPlugin = (app: FastifyInstance) => Promise<void>;

export interface HttpDeps {
  readonly status: StatusSource;
  readonly admin: AdminActions;
  /** True when the request carries the admin token (main compares it in constant time). */
  /** Checks the request's token against a role (auth/http-access.ts); a bare boolean stands for any valid token. */
  authenticateAdmin(req: FastifyRequest, need: Role): boolean | AccessVerdict | Promise<AccessVerdict>;
  /** Records each admin API request (who, what, which node, outcome); absent in tests that do not look. */
  readonly audit?: (entry: AuditEntry) => Promise<unknown>;
  readonly metrics: CoordinatorMetrics;
  readonly log: Logger;
  /**
   * Whether the status page, its stream, GET /api/v1/* and /metrics are readable without the admin token.
   * Default true: a homelab's status page belongs on a wall screen or a phone on the LAN, and it shows no
   * secrets (the snapshot holds none). Set false when the coordinator is reachable from untrusted networks;
   * browsers then need a token source that authenticateAdmin accepts, since EventSource cannot send headers.
   */
  readonly publicStatus?: boolean;
  /** Serve HTTPS with this key and certificate (PEM); without it plain HTTP, which main allows only on loopback. */
  readonly https?: { readonly key: string; readonly cert: string };
  /** Serves the FleetLock protocol at /v1/pre-reboot and /v1/steady-state (fleetlock-routes.ts); absent: not served. */
  readonly fleetlock?: FleetLockEndpoint;
  /** Registered last, each in its own encapsulated context (the git smart-HTTP mount). */
  readonly extraPlugins?: readonly HttpPlugin[];
  /** Wall clock for ages on the page; default Date.now. */
  readonly now?: () => number;
  /** Coalescing window for live updates; default 250 ms. */
  readonly streamIntervalMs?: number;
}

/** Enrolment hands out node tokens: admin only. Pause, resume and lease release are an operator's. */
const ADMIN_ONLY_ROUTES = new Set(["/api/v1/nodes/:name/enroll"]);

/** Who each admin request was, for its audit line once the response is sent. */
const actors = new WeakMap<FastifyRequest, string>();

function adminGuard(deps: HttpDeps, need: Role | "by-route") {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const role: Role = need !== "by-route" ? need : ADMIN_ONLY_ROUTES.has(req.routeOptions.url ?? "") ? "admin" : "operator";
    const verdict = verdictOf(await deps.authenticateAdmin(req, role));
    actors.set(req, verdict.ok ? verdict.principal.name : (verdict.actor ?? "unknown"));
    if (verdict.ok) return;
    if (verdict.status === 403) return void (await sendError(reply, 403, "PERMISSION_DENIED", verdict.message));
    reply.header("www-authenticate", 'Bearer realm="nk"');
    await sendError(reply, 401, "UNAUTHENTICATED", "a valid admin token is required (Authorization: Bearer <token>)");
  };
}

export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const log = deps.log.child({ component: "http" });
  const now = deps.now ?? Date.now;
  const app = Fastify({
    ...(deps.https ? { https: { key: deps.https.key, cert: deps.https.cert } } : {}),
    logger: false,
    bodyLimit: JSON_BODY_LIMIT,
    // Bodies must match their schema exactly: no silent coercion of "true" to true, no silent dropping of unknown keys.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    schemaController: lazySchemaController(),
  }) as unknown as FastifyInstance;
  if (deps.https) refusePlainHttp(app.server as unknown as HttpsServer);
  // First, so that it sees every route registered after it.
  registerOpenApi(app);
  const stream = new StatusStream({ status: deps.status, log, now, ...(deps.streamIntervalMs === undefined ? {} : { minIntervalMs: deps.streamIntervalMs }) });
  deps.metrics.attachStatus(deps.status);

  // Open SSE responses would keep server.close() waiting forever.
  app.addHook("preClose", async () => stream.close());

  app.addHook("onSend", async (_req, reply) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("x-frame-options", "DENY");
  });

  app.setErrorHandler((err, req, reply) => {
    const mapped = httpErrorFor(err);
    if (mapped.unexpected) log.error({ err: errorMessage(err), method: req.method, url: req.url }, "request failed");
    return sendError(reply, mapped.status, mapped.code, mapped.message);
  });

  app.setNotFoundHandler((req, reply) => sendError(reply, 404, "NOT_FOUND", `no route for ${req.method} ${req.url.split("?")[0] ?? ""}`));

  app.get("/healthz", async (_req, reply) => {
    reply.header("cache-control", "no-store");
    return { status: "ok", leader: deps.status.snapshot().leader };
  });

  const publicStatus = deps.publicStatus ?? true;
  app.register(async (scope) => {
    if (!publicStatus) scope.addHook("onRequest", adminGuard(deps, "viewer"));
    registerPageRoutes(scope, { status: deps.status, stream, now, log });
    scope.get("/metrics", async (_req, reply) => {
      const { contentType, body } = await deps.metrics.scrape();
      return reply.header("cache-control", "no-store").type(contentType).send(body);
    });
    scope.register(async (api) => {
      registerApiRoutes(api, deps.status);
      registerOpenApiRoute(api, () => app.swagger());
    });
  });

  app.register(async (scope) => {
    scope.addHook("onRequest", adminGuard(deps, "by-route"));
    scope.addHook("onResponse", async (req, reply) => {
      const params = (req.params ?? {}) as { node?: string; name?: string };
      const outcome = reply.statusCode < 400 ? "ok" : `refused: HTTP ${reply.statusCode}`;
      await deps.audit?.({ actor: actors.get(req) ?? "unknown", action: `${req.method} ${req.routeOptions.url ?? req.url.split("?")[0]}`, target: params.node ?? params.name ?? "", outcome }).catch((err: unknown) => log.error({ err: errorMessage(err) }, "audit line not stored"));
    });
    registerAdminRoutes(scope, deps.admin);
  });

  const fleetlock = deps.fleetlock;
  if (fleetlock) app.register(async (scope) => registerFleetLockRoutes(scope, { fleetlock, authenticate: deps.authenticateAdmin, metrics: deps.metrics, log, ...(deps.audit ? { audit: deps.audit } : {}) }));

  for (const plugin of deps.extraPlugins ?? []) app.register(plugin);
  return app;
}
