import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { lazySchemaController } from "./lazy-schema-controller.js";

function app(lazy: boolean) {
  const a = Fastify({ ajv: { customOptions: { coerceTypes: false, removeAdditional: false } }, ...(lazy ? { schemaController: lazySchemaController() } : {}) });
  const body = { type: "object", required: ["reason"], additionalProperties: false, properties: { reason: { type: "string", maxLength: 8 } } };
  const response = { 200: { type: "object", properties: { ok: { type: "boolean" } } } };
  // The handler returns a field the response schema leaves out: the serializer drops it.
  a.post("/act", { schema: { body, response } }, async () => ({ ok: true, internal: "not for clients" }));
  a.get<{ Headers: { "fleet-lock-protocol"?: string } }>("/h", { schema: { headers: { type: "object", required: ["fleet-lock-protocol"], properties: { "fleet-lock-protocol": { type: "string", enum: ["true"] } } } } }, async () => "yes");
  return a;
}

describe("lazySchemaController", () => {
  it("validates and serializes exactly as fastify's default compilers do", async () => {
    const requests = [
      { method: "POST" as const, url: "/act", payload: { reason: "ok" } },
      { method: "POST" as const, url: "/act", payload: {} },
      { method: "POST" as const, url: "/act", payload: { reason: 7 } },
      { method: "POST" as const, url: "/act", payload: { reason: "much too long" } },
      { method: "POST" as const, url: "/act", payload: { reason: "ok", extra: 1 } },
      { method: "GET" as const, url: "/h", headers: { "Fleet-Lock-Protocol": "true" } },
      { method: "GET" as const, url: "/h", headers: { "fleet-lock-protocol": "false" } },
      { method: "GET" as const, url: "/h" },
    ];
    const answers = async (lazy: boolean) => {
      const a = app(lazy);
      const out = [];
      // Twice: the first request compiles, the second uses what was compiled.
      for (const r of [...requests, ...requests]) {
        const res = await a.inject(r);
        out.push(`${res.statusCode} ${res.body}`);
      }
      await a.close();
      return out;
    };
    const lazy = await answers(true);
    expect(lazy).toEqual(await answers(false));
    expect(lazy[0]).toBe('200 {"ok":true}');
    expect(lazy[1]).toContain("body must have required property 'reason'");
    expect(lazy[5]).toBe("200 yes");
  });

  it("refuses a header schema with a capital in a name when the route is added (fastify would lower-case it only for its own compiler)", async () => {
    const a = Fastify({ schemaController: lazySchemaController() });
    a.get("/h", { schema: { headers: { type: "object", required: ["Fleet-Lock-Protocol"] } } }, async () => "yes");
    await expect(a.ready()).rejects.toThrow(/write header names in lower case \("Fleet-Lock-Protocol"\)/);
  });

  it("compiles a route's schemas on its first request, not when the app starts", async () => {
    const broken = { 200: { $ref: "no-such-schema#" } };
    const eager = Fastify();
    eager.get("/x", { schema: { response: broken } }, async () => ({}));
    await expect(eager.ready()).rejects.toThrow(/no-such-schema/);

    const lazy = Fastify({ schemaController: lazySchemaController() });
    lazy.get("/x", { schema: { response: broken } }, async () => ({}));
    lazy.get("/fine", async () => "fine");
    await lazy.ready();
    expect((await lazy.inject({ url: "/fine" })).body).toBe("fine");
    expect((await lazy.inject({ url: "/x" })).statusCode).toBe(500);
    await lazy.close();
  });
});
