// gRPC server reflection on a real coordinator over loopback TLS: a reflection v1 client (what grpcurl speaks) lists and describes nk's services.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { credentials, loadPackageDefinition, type ClientDuplexStream, type GrpcObject, type ServiceClientConstructor } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminServiceService } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AgentServiceService } from "../../shared/src/proto/gen/nk/v1/agent.js";
import { startHarness, type Harness } from "../support/coordinator-harness.js";

interface ReflectionResponse {
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}
type ReflectionStream = ClientDuplexStream<Record<string, string>, ReflectionResponse>;

// The reflection protocol's own .proto, as shipped by @grpc/reflection.
const reflectionProto = join(dirname(createRequire(import.meta.url).resolve("@grpc/reflection/package.json")), "build/proto/grpc/reflection/v1/reflection.proto");
const pkg = loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as GrpcObject;
const ServerReflection = ((pkg.grpc as GrpcObject).reflection as GrpcObject).v1 as GrpcObject;
const Client = ServerReflection.ServerReflection as ServiceClientConstructor;

describe("gRPC server reflection", () => {
  let h: Harness;
  let client: InstanceType<typeof Client>;

  beforeAll(async () => {
    h = await startHarness();
    client = new Client(`127.0.0.1:${h.coordinator.grpcPort}`, credentials.createSsl(Buffer.from(h.coordinator.caPem)), { "grpc.ssl_target_name_override": "localhost" });
  });
  afterAll(async () => {
    client?.close();
    await h?.close();
  });

  /** One request on a ServerReflectionInfo stream, its one response. */
  function ask(request: Record<string, string>): Promise<ReflectionResponse> {
    return new Promise((resolve, reject) => {
      const stream = (client as unknown as { ServerReflectionInfo(): ReflectionStream }).ServerReflectionInfo();
      stream.once("data", (response: ReflectionResponse) => {
        resolve(response);
        stream.end();
      });
      stream.on("error", reject);
      stream.write(request);
    });
  }

  it("lists nk's two services", async () => {
    const response = await ask({ list_services: "" });
    expect(response.list_services_response?.service.map((s) => s.name).sort()).toEqual(["nk.v1.AdminService", "nk.v1.AgentService"]);
  });

  it("describes each service with every method the generated code serves", async () => {
    for (const [name, generated] of [
      ["AdminService", AdminServiceService],
      ["AgentService", AgentServiceService],
    ] as const) {
      const response = await ask({ file_containing_symbol: `nk.v1.${name}` });
      const files = (response.file_descriptor_response?.file_descriptor_proto ?? []).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
      const service = files.flatMap((f) => f.service).find((s) => s.name === name);
      const paths = Object.values(generated).map((m) => m.path);
      expect(service?.method.map((m) => `/nk.v1.${name}/${m.name}`).sort()).toEqual(paths.sort());
      // Every request and response type comes along, so a client such as grpcurl can encode and decode each call.
      const messages = new Set(files.flatMap((f) => f.messageType.map((m) => `.${f.package}.${m.name}`)));
      for (const m of service?.method ?? []) {
        expect(messages).toContain(m.inputType);
        expect(messages).toContain(m.outputType);
      }
    }
  });

  it("answers an unknown symbol with NOT_FOUND", async () => {
    const response = await ask({ file_containing_symbol: "nk.v1.NoSuchService" });
    expect(response.error_response?.error_code).toBe(5);
  });
});
