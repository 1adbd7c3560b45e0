// GET /nk/source (where and what) and GET /nk/source/<file>: the nk source nodes' bundles import, with no token.
import type { FastifyInstance } from "fastify";
import { sourceUrl, type ServedSource } from "./nk-source.js";

export interface NkSourceRoutesOptions {
  /** Loaded on first use and kept: reading and hashing the tree takes a moment, and most starts never serve it. */
  readonly source: () => Promise<ServedSource>;
  /** This coordinator's address as nodes reach it, e.g. http://coordinator.lan:7080 (known once it listens). */
  readonly publicUrl: () => string;
}

export function nkSourcePlugin(opts: NkSourceRoutesOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get("/nk/source", async (_req, reply) => {
      const source = await opts.source();
      reply.header("cache-control", "no-store");
      return { url: sourceUrl(opts.publicUrl(), source), narHash: source.narHash, version: source.version };
    });
    app.get<{ Params: { file: string } }>("/nk/source/:file", async (req, reply) => {
      const source = await opts.source();
      if (req.params.file !== source.fileName) {
        return reply.code(404).send({ error: { code: "NOT_FOUND", message: `this coordinator serves only ${sourceUrl(opts.publicUrl(), source)} (nk ${source.version}): run nkctl pin --update nk` } });
      }
      // The name carries the content's hash: a given URL never changes.
      reply.header("cache-control", "public, max-age=31536000, immutable");
      reply.type("application/gzip");
      return reply.send(source.tarball);
    });
  };
}

/** Loads once, on first call; a failed load is retried on the next call. */
export function memoized(load: () => Promise<ServedSource>): () => Promise<ServedSource> {
  let pending: Promise<ServedSource> | null = null;
  return () => {
    pending ??= load().catch((err: unknown) => {
      pending = null;
      throw err;
    });
    return pending;
  };
}
