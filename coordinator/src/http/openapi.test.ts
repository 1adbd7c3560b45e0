// The OpenAPI document at /api/v1/openapi.json describes every /api/v1 route fastify has, with the schemas fastify validates and serializes with.
import Fastify, { type RouteOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPENAPI_PATH } from "./openapi.js";
import { authHeader, buildTestApp, type TestApp } from "./test-app.js";
import { makeSnapshot, TestStatusSource } from "./test-status-source.js";

interface Operation {
  parameters?: Array<{ in: string; name: string; required?: boolean }>;
  requestBody?: { content: Record<string, { schema: { required?: string[] } }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  security?: unknown[];
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
}

describe("OpenAPI", () => {
  let t: TestApp;
  const routes: RouteOptions[] = [];
  let doc: Document;

  beforeAll(async () => {
    const refuse = () => Promise.resolve({ ok: false as const, kind: "failed_lock" as const, message: "not in this test" });
    t = buildTestApp({ publicStatus: false, fleetlock: { preReboot: refuse, steadyState: refuse } });
    // The routes register when the app gets ready: a hook added now sees each one as fastify adds it.
    t.app.addHook("onRoute", (route) => void routes.push(route));
    const res = await t.app.inject({ method: "GET", url: OPENAPI_PATH, headers: authHeader });
    expect(res.statusCode).toBe(200);
    doc = res.json() as Document;
  });
  afterAll(async () => {
    await t.app.close();
  });

  const apiRoutes = (): Array<{ method: string; url: string; route: RouteOptions }> =>
    routes
      .filter((r) => r.url.startsWith("/api/v1/") || r.url.startsWith("/v1/"))
      .flatMap((route) => [route.method].flat().filter((m) => m !== "HEAD").map((method) => ({ method, url: route.url, route })));

  it("is an OpenAPI 3 document of the coordinator's API", () => {
    expect(doc.openapi).toBe("3.0.3");
    expect(doc.info.title).toBe("nk-coordinator API");
    expect(apiRoutes().length).toBeGreaterThanOrEqual(10);
  });

  it("describes every /api/v1 and FleetLock route fastify registered, and nothing else", () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const registered = apiRoutes().map((r) => `${r.method} ${r.url.replace(/:([a-z]+)/g, "{$1}")}`);
    expect(documented.sort()).toEqual(registered.sort());
  });

  it("gives each route a response schema fastify serializes with, its path parameters and its body", () => {
    for (const { method, url, route } of apiRoutes()) {
      const op = doc.paths[url.replace(/:([a-z]+)/g, "{$1}")]![method.toLowerCase()]!;
      const schema = route.schema as { response?: Record<string, unknown>; params?: unknown; body?: unknown };
      expect(schema?.response?.["200"], `${method} ${url} response`).toBeDefined();
      expect(op.responses["200"]?.content?.["application/json"]?.schema, `${method} ${url}`).toBeDefined();
      const pathParams = [...url.matchAll(/:([a-z]+)/g)].map((m) => m[1]);
      expect(op.parameters?.filter((p) => p.in === "path").map((p) => p.name) ?? [], `${method} ${url} path parameters`).toEqual(pathParams);
      if (pathParams.length > 0) expect(schema.params, `${method} ${url} params schema`).toBeDefined();
      if (schema.body !== undefined) expect(op.requestBody?.content["application/json"]?.schema.required, `${method} ${url} body`).toContain(url.startsWith("/v1/") ? "client_params" : "reason");
    }
  });

  it("has schemas that all compile under fastify's default compilers (the coordinator compiles each on first use)", async () => {
    // Every route of the app again, with its schemas, in an app that compiles them all when it gets ready.
    const eager = Fastify();
    const withSchema = routes.filter((r) => r.schema !== undefined && r.method !== "HEAD");
    expect(withSchema.length).toBeGreaterThanOrEqual(10);
    for (const r of withSchema) eager.route({ method: r.method, url: r.url, schema: r.schema!, handler: async () => null });
    await expect(eager.ready()).resolves.toBeDefined();
    await eager.close();
  });

  it("marks the admin routes as needing the admin token and documents their errors", () => {
    const pause = doc.paths["/api/v1/rollout/pause"]!.post!;
    expect(pause.security).toEqual([{ adminToken: [] }]);
    expect(Object.keys(pause.responses).sort()).toEqual(["200", "400", "401", "500", "503"]);
    expect(doc.paths["/api/v1/status"]!.get!.security).toBeUndefined();
  });

  it("documents the FleetLock routes with their header, both ways to send the token, and { kind, value } errors", () => {
    const pre = doc.paths["/v1/pre-reboot"]!.post! as Operation & { responses: Record<string, { content?: Record<string, { schema: { required?: string[] } }> }> };
    expect(pre.security).toEqual([{ adminToken: [] }, { basicToken: [] }]);
    expect(pre.parameters?.filter((p) => p.in === "header").map((p) => [p.name, p.required])).toEqual([["fleet-lock-protocol", true]]);
    expect(Object.keys(pre.responses).sort()).toEqual(["200", "400", "401", "403", "409", "500", "503"]);
    expect(pre.responses["409"]?.content?.["application/json"]?.schema.required).toEqual(["kind", "value"]);
  });

  it("serializes with the schemas without losing a field, even one the schema does not list yet", async () => {
    const snapshot = { ...makeSnapshot(), extra: { added: "later" } };
    const app = buildTestApp({ status: new TestStatusSource(snapshot) });
    try {
      const res = await app.app.inject({ method: "GET", url: "/api/v1/status" });
      expect(res.json()).toEqual(JSON.parse(JSON.stringify(snapshot)));
    } finally {
      await app.app.close();
    }
  });
});
