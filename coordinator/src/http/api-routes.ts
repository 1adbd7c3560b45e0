// Read-only JSON API under /api/v1: the snapshot, nodes, leases and recent events.
import type { FastifyInstance } from "fastify";
import type { StatusSource } from "../status/index.js";
import { sendError } from "./http-errors.js";

export const DEFAULT_EVENT_LIMIT = 100;
export const MAX_EVENT_LIMIT = 1000;

const nodeParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", minLength: 1, maxLength: 253 } },
} as const;

// Query strings are strings (body coercion is off app-wide), so the limit is checked here with a precise message.
function parseLimit(raw: unknown): number | string {
  if (raw === undefined) return DEFAULT_EVENT_LIMIT;
  const text = typeof raw === "string" ? raw : "";
  const n = /^[0-9]{1,7}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_EVENT_LIMIT) return `querystring/limit must be an integer from 1 to ${MAX_EVENT_LIMIT}`;
  return n;
}

export function registerApiRoutes(app: FastifyInstance, status: StatusSource): void {
  app.addHook("onSend", async (_req, reply) => {
    reply.header("cache-control", "no-cache");
  });

  app.get("/api/v1/status", async () => status.snapshot());

  app.get("/api/v1/nodes", async () => ({ nodes: status.snapshot().nodes }));

  app.get<{ Params: { name: string } }>("/api/v1/nodes/:name", { schema: { params: nodeParams } }, async (req, reply) => {
    const node = status.snapshot().nodes.find((n) => n.name === req.params.name);
    if (node === undefined) return sendError(reply, 404, "NODE_UNKNOWN", `node "${req.params.name}" is not in the inventory`);
    return node;
  });

  app.get("/api/v1/leases", async () => {
    const s = status.snapshot();
    return { held: s.leases, queue: s.queue, rollout: s.rollout };
  });

  app.get<{ Querystring: { limit?: string } }>("/api/v1/events", async (req, reply) => {
    const limit = parseLimit(req.query.limit);
    if (typeof limit === "string") return sendError(reply, 400, "INVALID_ARGUMENT", limit);
    const events = await status.recentEvents(limit);
    return { events: [...events].sort((a, b) => a.seq - b.seq).slice(-limit) };
  });
}
