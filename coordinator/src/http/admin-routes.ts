// Operator actions over HTTP (same as AdminService over gRPC): pause, resume, force-release, enroll.
import type { FastifyInstance } from "fastify";
import type { AdminActions } from "../status/index.js";
import { NODE_NAME_PARAM, ROLLOUT_SCHEMA, responses } from "./api-schemas.js";

const REASON = { type: "string", minLength: 1, maxLength: 500, description: "why, for the event log" } as const;
/** Every admin route needs the admin token; 401 without it. */
const ADMIN = { tags: ["admin"], security: [{ adminToken: [] }] } as const;
const rolloutResponse = { type: "object", required: ["rollout"], additionalProperties: true, properties: { rollout: ROLLOUT_SCHEMA } } as const;

const pauseSchema = {
  ...ADMIN,
  summary: "pause the rollout: no new disruption lease is granted",
  body: { type: "object", required: ["reason"], additionalProperties: false, properties: { reason: REASON } },
  response: responses(rolloutResponse, 400, 401),
} as const;

const resumeSchema = { ...ADMIN, summary: "resume a paused or halted rollout (no body needed)", response: responses(rolloutResponse, 401) } as const;

const approveSchema = { ...ADMIN, summary: "let the revision go on past its canaries (nkctl rollout approve; no body needed)", response: responses(rolloutResponse, 400, 401) } as const;

const releaseSchema = {
  ...ADMIN,
  summary: "release a node's lease; force releases one whose node has not returned",
  params: { type: "object", required: ["node"], properties: { node: NODE_NAME_PARAM } },
  body: {
    type: "object",
    required: ["reason"],
    additionalProperties: false,
    properties: { force: { type: "boolean" }, reason: REASON },
  },
  response: responses({ type: "object", required: ["released", "message"], additionalProperties: true, properties: { released: { type: "boolean" }, message: { type: "string" } } }, 400, 401, 404, 409),
} as const;

const enrollSchema = {
  ...ADMIN,
  summary: "enroll a node: a new one-time token for its agent (shown only in this response)",
  params: { type: "object", required: ["name"], properties: { name: NODE_NAME_PARAM } },
  response: responses({ type: "object", required: ["node", "token"], additionalProperties: true, properties: { node: { type: "string" }, token: { type: "string" } } }, 400, 401, 404),
} as const;

export function registerAdminRoutes(app: FastifyInstance, admin: AdminActions): void {
  app.addHook("onSend", async (_req, reply) => {
    reply.header("cache-control", "no-store");
  });

  app.post<{ Body: { reason: string } }>("/api/v1/rollout/pause", { schema: pauseSchema }, async (req) => ({
    rollout: await admin.pause(req.body.reason),
  }));

  // No body needed; a JSON body, if sent, is ignored.
  app.post("/api/v1/rollout/resume", { schema: resumeSchema }, async () => ({ rollout: await admin.resume() }));
  app.post("/api/v1/rollout/approve", { schema: approveSchema }, async () => ({ rollout: await admin.approve() }));

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
