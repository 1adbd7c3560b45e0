// gRPC server reflection: the .proto files loaded with @grpc/proto-loader and served by @grpc/reflection, so grpcurl can list and call.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { handleBidiStreamingCall, MethodDefinition, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import type * as ProtoLoader from "@grpc/proto-loader";
import type * as Reflection from "@grpc/reflection";
import { NkError } from "../../../shared/src/errors/index.js";

/** The reflection services, each with its one bidirectional method. */
export const REFLECTION_SERVICES: readonly string[] = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];
const METHOD = "ServerReflectionInfo";

/** The wire contract's files, relative to the proto root (they import each other as nk/v1/...). */
export const PROTO_FILES: readonly string[] = ["nk/v1/common.proto", "nk/v1/agent.proto", "nk/v1/admin.proto"];

/**
 * The folder holding nk/v1/*.proto: <repo>/proto from the sources, <package>/proto from the compiled
 * dist/ (one folder deeper); the package installs proto/ beside dist/ for this.
 */
export function protoRoot(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  for (const up of ["../../..", "../../../.."]) {
    const root = join(here, up, "proto");
    if (existsSync(join(root, PROTO_FILES[0]!))) return root;
  }
  throw new NkError("UNAVAILABLE", `the .proto files are not installed (looked for proto/${PROTO_FILES[0]} above ${here})`);
}

type Services = Array<{ definition: ServiceDefinition; implementation: UntypedServiceImplementation }>;

/**
 * The reflection services (v1 and v1alpha) for the wire contract. They answer without a token: they
 * describe only the schema, which is public in proto/; every call they describe checks its own token.
 * Built on the first reflection call, not at start: loading proto-loader, protobufjs and the reflection
 * package and parsing the .proto files cost every coordinator start about 0.4 s of CPU for a debugging aid
 * (grpcurl) that most coordinators never serve. The definitions given to the server say the same paths and
 * stream kinds and delegate their codecs to the built ones (reflection-services.test.ts compares them).
 */
export function reflectionServices(root = protoRoot()): Services {
  let built: Services | undefined;
  const real = (service: string): Services[number] => {
    built ??= buildReflectionServices(root);
    const found = built.find((b) => b.definition[METHOD]?.path === `/${service}/${METHOD}`);
    if (!found) throw new NkError("UNAVAILABLE", `@grpc/reflection does not serve ${service}`);
    return found;
  };
  const method = (service: string): MethodDefinition<unknown, unknown> => real(service).definition[METHOD]!;
  return REFLECTION_SERVICES.map((service) => ({
    definition: {
      [METHOD]: {
        path: `/${service}/${METHOD}`,
        requestStream: true,
        responseStream: true,
        originalName: "serverReflectionInfo",
        requestSerialize: (v: unknown) => method(service).requestSerialize(v),
        requestDeserialize: (b: Buffer) => method(service).requestDeserialize(b),
        responseSerialize: (v: unknown) => method(service).responseSerialize(v),
        responseDeserialize: (b: Buffer) => method(service).responseDeserialize(b),
      },
    },
    implementation: { [METHOD]: (call: Parameters<handleBidiStreamingCall<unknown, unknown>>[0]) => (real(service).implementation[METHOD] as handleBidiStreamingCall<unknown, unknown>)(call) },
  }));
}

/** What @grpc/reflection itself builds from the .proto files (loaded synchronously: codecs run inside gRPC's callbacks). */
export function buildReflectionServices(root = protoRoot()): Services {
  const require = createRequire(import.meta.url);
  const { loadSync } = require("@grpc/proto-loader") as typeof ProtoLoader;
  const { ReflectionService } = require("@grpc/reflection") as typeof Reflection;
  const definition = loadSync([...PROTO_FILES], { includeDirs: [root], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const services: Services = [];
  new ReflectionService(definition).addToServer({ addService: (d, implementation) => void services.push({ definition: d, implementation }) });
  return services;
}
