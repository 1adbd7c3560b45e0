// gRPC server reflection: the .proto files loaded with @grpc/proto-loader and served by @grpc/reflection, so grpcurl can list and call.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { NkError } from "../../../shared/src/errors/index.js";

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

/**
 * The reflection services (v1 and v1alpha) for the wire contract. They answer without a token: they
 * describe only the schema, which is public in proto/; every call they describe checks its own token.
 */
export function reflectionServices(root = protoRoot()): Array<{ definition: ServiceDefinition; implementation: UntypedServiceImplementation }> {
  const definition = loadSync([...PROTO_FILES], { includeDirs: [root], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const services: Array<{ definition: ServiceDefinition; implementation: UntypedServiceImplementation }> = [];
  new ReflectionService(definition).addToServer({ addService: (d, implementation) => void services.push({ definition: d, implementation }) });
  return services;
}
