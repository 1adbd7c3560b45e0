// Operator actions over HTTP (same as AdminService over gRPC): pause, resume, force-release, enroll.
import type { FastifyInstance } from "fastify";
import type { AdminActions } from "../status/index.js";

// Node names are DNS labels (the inventory enforces the same rule).
const NODE_NAME = { type: "string", pattern: "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$" } as const;
const REASON = { type: "string", minLength: 1, maxLength: 500 } as const;

const pauseSchema = {
  body: { type: "object", required: ["reason"], additionalProperties: false, properties: { reason: REASON } },
} as const;

const releaseSchema = {
  params: { type: "object", required: ["node"], properties: { node: NODE_NAME } },
  body: {
    type: "object",
    required: ["reason"],
    additionalProperties: false,
    properties: { force: { type: "boolean" }, reason: REASON },
  },
} as const;

const enrollSchema = {
  params: { type: "object", required: ["name"], properties: { name: NODE_NAME } },
} as const;

export function registerAdminRoutes(app: FastifyInstance, admin: AdminActions): void {
  app.addHook("onSend", async (_req, reply) => {
    reply.header("cache-control", "no-store");
  });

  app.post<{ Body: { reason: string } }>("/api/v1/rollout/pause", { schema: pauseSchema }, async (req) => ({
    rollout: await admin.pause(req.body.reason),
  }));

  // No body needed; a JSON body, if sent, is ignored.
  app.post("/api/v1/rollout/resume", async () => ({ rollout: await admin.resume() }));

  app.post<{ Params: { node: string }; Body: { force?: boolean; reason: string } }>(
    "/api/v1/leases/:node/release",
    { schema: releaseSchema },
    async (req) => admin.releaseLease(req.params.node, req.body.force ?? false, req.body.reason),
  );

  // The one-time token appears in this response only: no-store (set above) keeps it out of every cache.
  app.post<{ Params: { name: string } }>("/api/v1/nodes/:name/enroll", { schema: enrollSchema }, async (req) => {
    const enrolled = await admin.enrollNode(req.params.name);
    return { node: enrolled.node, token: enrolled.token };
  });
}
