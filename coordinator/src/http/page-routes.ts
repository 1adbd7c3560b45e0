// The status page (GET /) and its live update stream (GET /events/stream, Server-Sent Events).
import type { FastifyInstance } from "fastify";
import type { Logger } from "../../../shared/src/log/index.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { StatusSource } from "../status/index.js";
import { sendError } from "./http-errors.js";
import { PAGE_CSP } from "./page-assets.js";
import { ROLLOUT_HISTORY_LIMIT } from "./render-rollouts.js";
import { renderStatusPage } from "./render-status-page.js";
import type { StatusStream } from "./status-stream.js";

export const PAGE_EVENT_LIMIT = 50;
/** Each stream costs a socket and a write per update; beyond this many, new ones are refused (EventSource retries). */
export const MAX_STREAM_CLIENTS = 256;

export function registerPageRoutes(app: FastifyInstance, deps: { status: StatusSource; stream: StatusStream; now: () => number; log: Logger }): void {
  app.get("/", async (_req, reply) => {
    const [events, rollouts] = await Promise.all([deps.status.recentEvents(PAGE_EVENT_LIMIT), deps.status.rollouts(ROLLOUT_HISTORY_LIMIT)]);
    const html = renderStatusPage(deps.status.snapshot(), events, deps.now(), rollouts);
    return reply.header("content-security-policy", PAGE_CSP).header("cache-control", "no-cache").type("text/html; charset=utf-8").send(html);
  });

  // No HEAD twin: a HEAD request must not hold a stream open.
  app.get("/events/stream", { exposeHeadRoute: false }, (req, reply) => {
    if (deps.stream.clientCount >= MAX_STREAM_CLIENTS) {
      return sendError(reply.header("retry-after", "10"), 503, "UNAVAILABLE", "too many open status streams");
    }
    // The response outlives this handler; StatusStream owns it until the client goes or the server closes.
    reply.hijack();
    reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-content-type-options": "nosniff",
      // Reverse proxies (nginx) would otherwise buffer the stream.
      "x-accel-buffering": "no",
    });
    req.raw.socket.setNoDelay(true);
    deps.stream.attach(reply.raw).catch((err: unknown) => {
      deps.log.warn({ err: errorMessage(err) }, "status stream attach failed");
      reply.raw.end();
    });
  });
}
