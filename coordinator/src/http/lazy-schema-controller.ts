// fastify's own schema compilers (Ajv for requests, fast-json-stringify for responses), each route's compiled on its
// first request instead of when the app starts: compiling every route's schemas was about a quarter of the
// coordinator's start-up CPU, and most routes of a coordinator are never called in a given run. What a route accepts
// and how its responses are written stay exactly as fastify's defaults make them.
import { AjvCompiler } from "@fastify/ajv-compiler";
import { SerializerSelector } from "@fastify/fast-json-stringify-compiler";
import type { FastifyServerOptions } from "fastify";

type Factory<F> = (...args: never[]) => (route: never) => F;
type ValidateFn = ((data: unknown, ctx?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };

/**
 * An Ajv validator compiled on first use. fastify reads `errors` off the function after a failed call and passes the
 * parent object when `schemaEnv` is set (so Ajv may replace a root value): the wrapper keeps both.
 */
function lazyValidator(compile: () => ValidateFn): ValidateFn {
  let fn: ValidateFn | undefined;
  const validate: ValidateFn = (data, ctx) => {
    fn ??= compile();
    const result = ctx === undefined ? fn(data) : fn(data, ctx);
    validate.errors = fn.errors;
    return result;
  };
  // Every Ajv-compiled function has a schemaEnv; set before the first call, as fastify checks it before calling.
  validate.schemaEnv = true;
  return validate;
}

function lazySerializer(compile: () => (data: unknown) => string): (data: unknown) => string {
  let fn: ((data: unknown) => string) | undefined;
  return (data) => (fn ??= compile())(data);
}

/**
 * fastify lower-cases the names in a header schema only for its own compiler, not for one given as a factory (as
 * here): a schema naming a header in capitals would then never match. Such a schema is refused when its route is
 * added, so every schema this controller accepts behaves as under the default.
 */
function refuseCapitalHeaders(route: { schema?: unknown; httpPart?: string; url?: string }): void {
  if (route.httpPart !== "headers" || typeof route.schema !== "object" || route.schema === null) return;
  const { properties, required } = route.schema as { properties?: object; required?: unknown };
  const names = [...Object.keys(properties ?? {}), ...(Array.isArray(required) ? (required as unknown[]).map(String) : [])];
  const capital = names.find((n) => n !== n.toLowerCase());
  if (capital !== undefined) throw new Error(`header schema of ${route.url ?? "a route"}: write header names in lower case ("${capital}")`);
}

/** The `schemaController` option for Fastify(): the default compilers, deferred per route. */
export function lazySchemaController(): NonNullable<FastifyServerOptions["schemaController"]> {
  const validators = AjvCompiler() as unknown as Factory<ValidateFn>;
  const serializers = SerializerSelector() as unknown as Factory<(data: unknown) => string>;
  return {
    compilersFactory: {
      buildValidator: (...args: never[]) => {
        const compiler = validators(...args);
        return (route: never) => {
          refuseCapitalHeaders(route);
          return lazyValidator(() => compiler(route));
        };
      },
      buildSerializer: (...args: never[]) => {
        const compiler = serializers(...args);
        return (route: never) => lazySerializer(() => compiler(route));
      },
    },
  } as NonNullable<FastifyServerOptions["schemaController"]>;
}
