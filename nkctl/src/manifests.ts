// `nkctl manifests status|diff|apply`: what the coordinator applied from manifests/, what an apply would change, apply now.
import type { Command } from "commander";
import type { GetManifestsResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { EXIT } from "./exit-codes.js";
import { emit, formatTable, short } from "./output.js";
import { formatFields } from "./rollout.js";

/** Stable JSON for scripts: the state, then one entry per object. */
export function manifestsJson(res: GetManifestsResponse): object {
  return {
    mode: res.mode,
    state: res.state,
    revision: res.revision,
    appliedRevision: res.appliedRevision,
    error: res.error,
    lastAttemptMs: res.lastAttemptMs,
    nextRetryMs: res.nextRetryMs,
    failures: res.failures,
    objects: res.objects.map((o) => ({
      key: o.key,
      source: o.source,
      action: o.action,
      message: o.message,
      health: o.health,
      healthDetail: o.healthDetail,
      ...(res.live ? { exists: o.exists, inSync: o.inSync } : {}),
    })),
  };
}

export function manifestsText(res: GetManifestsResponse): string {
  const head = formatFields([
    ["state", `${res.state} (mode ${res.mode})`],
    ["revision", short(res.revision) || "-"],
    ["applied", short(res.appliedRevision) || "never"],
    ...(res.error ? [["error", res.error] as [string, string]] : []),
    ...(res.nextRetryMs > 0 ? [["retry", `${new Date(res.nextRetryMs).toISOString()} (after ${res.failures} failed attempt(s))`] as [string, string]] : []),
  ]);
  if (res.objects.length === 0) return head;
  const headers = res.live ? ["OBJECT", "SOURCE", "LAST APPLY", "IN SYNC", "HEALTH"] : ["OBJECT", "SOURCE", "LAST APPLY", "HEALTH"];
  const rows = res.objects.map((o) => {
    const apply = o.message ? `${o.action}: ${o.message}` : o.action;
    const health = o.healthDetail ? `${o.health} (${o.healthDetail})` : o.health;
    return res.live ? [o.key, o.source, apply, o.exists ? (o.inSync ? "yes" : "no") : "missing", health] : [o.key, o.source, apply, health];
  });
  return `${head}${formatTable(headers, rows)}`;
}

export function registerManifests(program: Command, ctx: CliContext): void {
  const group = program.command("manifests").description("the Kubernetes objects of manifests/ the coordinator applies and prunes");

  group
    .command("status")
    .description("apply state and each object: last apply, in sync (server-side dry run), health; exit 1 while the apply is failing")
    .option("--no-live", "only what the coordinator recorded, without reading the cluster")
    .action(async (opts: { live: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const res = await withAdmin(ctx, globals, (api) => api.getManifests(opts.live));
      emit(ctx, globals.output, manifestsJson(res), () => manifestsText(res));
      if (res.state === "failed") ctx.exitCode = EXIT.PROBLEMS;
    });

  group
    .command("diff [revision]")
    .description("what applying a revision's manifests (default main) would create, change and prune; nothing is written")
    .action(async (revision: string | undefined, _opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const res = await withAdmin(ctx, globals, (api) => api.diffManifests(revision ?? ""));
      const entries = res.entries.map((e) => ({ key: e.key, action: e.action, fields: e.fields, message: e.message }));
      emit(ctx, globals.output, { revision: res.revision, entries }, () => {
        const rows = entries.filter((e) => e.action !== "unchanged").map((e) => [e.action, e.key, [e.fields.join(", "), e.message].filter((s) => s).join("; ")]);
        const unchanged = entries.length - rows.length;
        const table = rows.length === 0 ? "" : formatTable(["ACTION", "OBJECT", "DETAIL"], rows);
        return `${table}revision ${short(res.revision)}: ${rows.length} to act on, ${unchanged} unchanged\n`;
      });
    });

  group
    .command("apply")
    .description("apply the current revision's manifests now (whatever manifests.apply says) and show the outcome")
    .action(async (_opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const res = await withAdmin(ctx, globals, (api) => api.applyManifests());
      emit(ctx, globals.output, manifestsJson(res), () => manifestsText(res));
      if (res.state === "failed") ctx.exitCode = EXIT.PROBLEMS;
    });
}
