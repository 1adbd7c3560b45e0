// The reflection services a coordinator registers at start (built lazily) say what @grpc/reflection's own say, and
// their codecs give the same bytes. test/coordinator/grpc-reflection.test.ts calls them over TLS on a real coordinator.
import { describe, expect, it } from "vitest";
import { REFLECTION_SERVICES, buildReflectionServices, reflectionServices } from "./reflection-services.js";

describe("reflection services", () => {
  const shape = (services: ReturnType<typeof reflectionServices>) =>
    services.map((s) => ({ implemented: Object.keys(s.implementation), methods: Object.entries(s.definition).map(([name, m]) => ({ name, path: m.path, requestStream: m.requestStream, responseStream: m.responseStream, originalName: m.originalName })) }));

  it("registers the paths, stream kinds and handlers @grpc/reflection registers", () => {
    const built = buildReflectionServices();
    expect(shape(reflectionServices())).toEqual(shape(built));
    expect(built.map((s) => Object.values(s.definition)[0]!.path)).toEqual(REFLECTION_SERVICES.map((n) => `/${n}/ServerReflectionInfo`));
  });

  it("encodes and decodes a request and a response as the built codecs do", () => {
    const built = buildReflectionServices();
    const lazy = reflectionServices();
    for (const [i, service] of lazy.entries()) {
      const [m, real] = [service.definition.ServerReflectionInfo!, built[i]!.definition.ServerReflectionInfo!];
      const request = { host: "", listServices: "*" };
      const bytes = m.requestSerialize(request);
      expect(bytes.length).toBeGreaterThan(0);
      expect(bytes).toEqual(real.requestSerialize(request));
      expect(m.requestDeserialize(bytes)).toEqual(real.requestDeserialize(bytes));
      const response = { validHost: "localhost", listServicesResponse: { service: [{ name: "nk.v1.AdminService" }] } };
      const out = m.responseSerialize(response);
      expect(out.length).toBeGreaterThan(0);
      expect(out).toEqual(real.responseSerialize(response));
      expect(m.responseDeserialize(out)).toEqual(real.responseDeserialize(out));
    }
  });
});
