// Read-only JSON API under /api/v1: the snapshot, nodes, leases and recent events.
import type { FastifyInstance } from "fastify";
import type { StatusSource } from "../status/index.js";
import { EVENT_SCHEMA, LEASE_SCHEMA, NODE_SCHEMA, ROLLOUT_SCHEMA, SNAPSHOT_SCHEMA, responses } from "./api-schemas.js";
import { sendError } from "./http-errors.js";

export const DEFAULT_EVENT_LIMIT = 100;
export const MAX_EVENT_LIMIT = 1000;

const nodeParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", minLength: 1, maxLength: 253 } },
} as const;

// The limit stays a string here: parseLimit checks it with a message that names the allowed range.
const eventsQuery = {
  type: "object",
  properties: { limit: { type: "string", description: `how many of the newest events, 1 to ${MAX_EVENT_LIMIT} (default ${DEFAULT_EVENT_LIMIT})` } },
} as const;

const READ = { tags: ["status"] } as const;

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

  app.get("/api/v1/status", { schema: { ...READ, summary: "the whole cluster: rollout, nodes, leases, queue", response: responses(SNAPSHOT_SCHEMA) } }, async () => status.snapshot());

  const nodeList = { type: "object", required: ["nodes"], additionalProperties: true, properties: { nodes: { type: "array", items: NODE_SCHEMA } } };
  app.get("/api/v1/nodes", { schema: { ...READ, summary: "every node of the inventory", response: responses(nodeList) } }, async () => ({ nodes: status.snapshot().nodes }));

  const nodeSchema = { ...READ, summary: "one node", params: nodeParams, response: responses(NODE_SCHEMA, 400, 404) };
  app.get<{ Params: { name: string } }>("/api/v1/nodes/:name", { schema: nodeSchema }, async (req, reply) => {
    const node = status.snapshot().nodes.find((n) => n.name === req.params.name);
    if (node === undefined) return sendError(reply, 404, "NODE_UNKNOWN", `node "${req.params.name}" is not in the inventory`);
    return node;
  });

  const leases = {
    type: "object",
    required: ["held", "queue", "rollout"],
    additionalProperties: true,
    properties: { held: { type: "array", items: LEASE_SCHEMA }, queue: { type: "array", items: LEASE_SCHEMA }, rollout: ROLLOUT_SCHEMA },
  };
  app.get("/api/v1/leases", { schema: { ...READ, summary: "held leases, the queue and the rollout", response: responses(leases) } }, async () => {
    const s = status.snapshot();
    return { held: s.leases, queue: s.queue, rollout: s.rollout };
  });

  const events = { type: "object", required: ["events"], additionalProperties: true, properties: { events: { type: "array", items: EVENT_SCHEMA } } };
  const eventsSchema = { ...READ, summary: "the newest events, oldest first", querystring: eventsQuery, response: responses(events, 400) };
  app.get<{ Querystring: { limit?: string } }>("/api/v1/events", { schema: eventsSchema }, async (req, reply) => {
    const limit = parseLimit(req.query.limit);
    if (typeof limit === "string") return sendError(reply, 400, "INVALID_ARGUMENT", limit);
    const events = await status.recentEvents(limit);
    return { events: [...events].sort((a, b) => a.seq - b.seq).slice(-limit) };
  });
}
