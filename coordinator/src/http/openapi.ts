// The OpenAPI document of /api/v1, built by @fastify/swagger from the routes' own JSON schemas.
import fastifySwagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import { NK_VERSION } from "../../../shared/src/version/index.js";

export const API_PREFIX = "/api/v1/";
/** The FleetLock protocol's routes (fleetlock-routes.ts), described beside the API. */
export const FLEETLOCK_PREFIX = "/v1/";
export const OPENAPI_PATH = "/api/v1/openapi.json";

/**
 * Registers @fastify/swagger on the root app (not in a child scope, where it would see only that
 * scope's routes), before any route, so that it sees every route added later in any scope. Routes
 * outside /api/v1 and the FleetLock routes (the page, git, /metrics) are left out of the document.
 */
export function registerOpenApi(app: FastifyInstance): void {
  app.register(fastifySwagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "nk-coordinator API",
        version: NK_VERSION,
        description: "The cluster's status and the operator actions (the same as AdminService over gRPC). Every response is JSON; errors are { code, message }.",
      },
      tags: [
        { name: "status", description: "read-only views; public unless the coordinator runs with publicStatus false" },
        { name: "admin", description: "operator actions; need the admin token" },
        { name: "fleetlock", description: "the FleetLock protocol for zincati (Fedora CoreOS, Flatcar); errors are { kind, value }; a token of role fleetlock" },
      ],
      components: {
        securitySchemes: {
          adminToken: { type: "http", scheme: "bearer", description: "the coordinator's admin token" },
          basicToken: { type: "http", scheme: "basic", description: "any user name, an API token as the password (zincati: https://fleetlock:<token>@host/)" },
        },
      },
    },
    transform: ({ schema, url }) => ({ schema: url.startsWith(API_PREFIX) || url.startsWith(FLEETLOCK_PREFIX) ? schema : { ...schema, hide: true }, url }),
  });
}

/** Serves the document; the routes are all known once the app is ready, when this first runs. */
export function registerOpenApiRoute(app: FastifyInstance, document: () => unknown): void {
  const schema = { tags: ["status"], summary: "this document (OpenAPI 3)", response: { 200: { type: "object", additionalProperties: true } } };
  app.get(OPENAPI_PATH, { schema }, async () => document());
}
