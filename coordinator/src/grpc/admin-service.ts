// AdminService: nkctl's API. Every call needs the admin token; secrets can be set and listed, never read.
import type { Metadata, ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import { NkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { AdminServiceServer } from "../../../shared/src/proto/gen/nk/v1/admin.js";
import { leaseToWire } from "../../../shared/src/wire/index.js";
import type { RevisionRenderer } from "../inventory/index.js";
import type { ManifestsAdmin } from "../manifests/index.js";
import type { AdminActions, EventView, StatusSource } from "../status/index.js";
import type { SecretInfo } from "../store/index.js";
import { leaseInfoOf } from "./agent-codec.js";
import { eventToWire, nodeToWire, rolloutToWire } from "./admin-codec.js";
import { planToWire } from "./plan-codec.js";
import type { PlanView } from "../preview/index.js";
import { assertPreviewName } from "../../../shared/src/names/index.js";
import { toServiceError } from "./error-status.js";
import { isSecretName, SECRET_NAME_RULE } from "../../../shared/src/names/index.js";
import { RESERVED_SECRET_PREFIX, auditTarget, methodRole, requireRole, type AuditEntry, type Principal, type TokenBook } from "../auth/index.js";
import { errorMessage, isNkError } from "../../../shared/src/errors/index.js";

export interface AdminServiceDeps {
  /** Identifies the caller's token (UNAUTHENTICATED when unknown); each method then checks its role. */
  readonly authorize: (metadata: Metadata, method: string) => Promise<Principal>;
  readonly tokens: Pick<TokenBook, "create" | "list" | "revoke">;
  readonly rotateNodeToken: (node: string) => Promise<{ node: string; token: string }>;
  /** Many nodes in one call (nkctl node enroll n1 n2 …); the tokens in the request's order. */
  readonly enrollNodes: (nodes: readonly string[]) => Promise<Array<{ node: string; token: string }>>;
  /** Records every call that changes something (any method above viewer), allowed or not. */
  readonly audit: (entry: AuditEntry) => Promise<unknown>;
  readonly status: StatusSource;
  readonly actions: AdminActions;
  readonly secrets: { setSecret(name: string, value: Buffer): Promise<void>; listSecrets(): Promise<SecretInfo[]> };
  readonly events: { readEvents(o: { afterSeq?: number; tail?: number }): Promise<EventView[]> };
  readonly renderer: RevisionRenderer;
  readonly manifests: ManifestsAdmin;
  readonly plans: { views(): PlanView[]; view(name: string): PlanView; delete(name: string): Promise<boolean> };
  /** The build farm's kept logs (builders mode); null when the node has no such build. */
  readonly builds: { buildLog(node: string, revision?: string): Promise<{ revision: string; state: string; log: string } | null> };
  readonly log: Logger;
}

const MAX_SECRET_BYTES = 64 * 1024;

export function createAdminService(deps: AdminServiceDeps): AdminServiceServer {
  const { log } = deps;
  const unary =
    <Req, Res>(name: string, handler: (req: Req) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      let actor = "unknown";
      const audited = methodRole(name) !== "viewer";
      const audit = (outcome: string) => (audited ? deps.audit({ actor, action: name, target: auditTarget(call.request), outcome }).catch((err: unknown) => log.error({ err: errorMessage(err) }, "audit line not stored")) : Promise.resolve());
      Promise.resolve()
        .then(() => deps.authorize(call.metadata, name))
        .then((principal) => {
          actor = principal.name;
          requireRole(principal, methodRole(name), name);
          return handler(call.request);
        })
        .then(async (res) => {
          await audit("ok");
          callback(null, res);
        })
        .catch(async (err: unknown) => {
          // Unauthenticated calls name no one: only refusals of a known token are worth a line.
          if (!isNkError(err, "UNAUTHENTICATED") || actor !== "unknown") await audit(`refused: ${errorMessage(err)}`);
          callback(toServiceError(err, log, { rpc: name }));
        });
    };
  const leases = () => {
    const s = deps.status.snapshot();
    return [...s.leases, ...s.queue].map((l) => leaseToWire(leaseInfoOf(l)));
  };

  return {
    getStatus: unary("GetStatus", async () => {
      const s = deps.status.snapshot();
      return { cluster: s.cluster, coordinatorVersion: s.version, rollout: rolloutToWire(s.rollout), nodes: s.nodes.map(nodeToWire), leases: leases(), leader: s.leader, warnings: [...s.warnings], buildersMode: s.builds !== undefined, builds: [...(s.builds ?? [])] };
    }),
    listNodes: unary("ListNodes", async () => ({ nodes: deps.status.snapshot().nodes.map(nodeToWire) })),
    listLeases: unary("ListLeases", async () => ({ leases: leases(), rollout: rolloutToWire(deps.status.snapshot().rollout) })),
    releaseLease: unary("ReleaseLease", async (req) => {
      if (!req.node) throw new NkError("INVALID_ARGUMENT", "node is required");
      return deps.actions.releaseLease(req.node, req.force, req.reason || "released by operator");
    }),
    pauseRollout: unary("PauseRollout", async (req) => ({ rollout: rolloutToWire(await deps.actions.pause(req.reason || "paused by operator")) })),
    resumeRollout: unary("ResumeRollout", async () => ({ rollout: rolloutToWire(await deps.actions.resume()) })),
    approveRollout: unary("ApproveRollout", async () => ({ rollout: rolloutToWire(await deps.actions.approve()) })),
    enrollNode: unary("EnrollNode", async (req) => deps.actions.enrollNode(req.node)),
    enrollNodes: unary("EnrollNodes", async (req) => ({ nodes: await deps.enrollNodes(req.nodes) })),
    setSecret: unary("SetSecret", async (req) => {
      if (req.name.startsWith(RESERVED_SECRET_PREFIX)) throw new NkError("INVALID_ARGUMENT", `secret names starting with "${RESERVED_SECRET_PREFIX}" are reserved for the coordinator`);
      if (!isSecretName(req.name)) throw new NkError("INVALID_ARGUMENT", `"${req.name}" is not a valid secret name (${SECRET_NAME_RULE})`);
      if (req.value.length === 0) throw new NkError("INVALID_ARGUMENT", "the secret value is empty");
      if (req.value.length > MAX_SECRET_BYTES) throw new NkError("TOO_LARGE", `secret values are limited to ${MAX_SECRET_BYTES} bytes`);
      await deps.secrets.setSecret(req.name, Buffer.from(req.value));
      log.info({ secretName: req.name, bytes: req.value.length }, "secret set");
      return {};
    }),
    listSecrets: unary("ListSecrets", async () => ({ secrets: (await deps.secrets.listSecrets()).filter((s) => !s.name.startsWith(RESERVED_SECRET_PREFIX)).map((s) => ({ name: s.name, updatedAtMs: s.updatedAtMs, sizeBytes: s.sizeBytes })) })),
    render: unary("Render", async (req) => {
      const rendered = await deps.renderer.render(req.revision);
      if (req.node && !rendered.bundles.has(req.node)) throw new NkError("NODE_UNKNOWN", `node "${req.node}" is not in revision ${rendered.revision.slice(0, 12)}`);
      const bundles = [...rendered.bundles.values()].filter((b) => !req.node || b.node === req.node);
      return {
        revision: rendered.revision,
        bundles: bundles.map((b) => ({ node: b.node, bundleSha256: b.sha256, files: b.files.map((f) => ({ path: f.path, content: Buffer.from(f.content), executable: false })) })),
      };
    }),
    diff: unary("Diff", async (req) => {
      const diffs = await deps.renderer.diff(req.fromRevision, req.toRevision, req.node || undefined);
      return { nodes: diffs.map((d) => ({ node: d.node, fromSha256: d.fromSha256, toSha256: d.toSha256, unified: d.unified })) };
    }),
    getManifests: unary("GetManifests", async (req) => deps.manifests.get(req.live)),
    diffManifests: unary("DiffManifests", async (req) => {
      const { revision, entries } = await deps.manifests.diff(req.revision);
      return { revision, entries: entries.map((e) => ({ key: e.key, action: e.action, fields: [...e.fields], message: e.message ?? "" })) };
    }),
    applyManifests: unary("ApplyManifests", async () => deps.manifests.applyNow()),
    createToken: unary("CreateToken", async (req) => {
      const { record, token } = await deps.tokens.create(req.name, req.role);
      log.info({ tokenName: record.name, role: record.role }, "API token created");
      return { name: record.name, role: record.role, token };
    }),
    listTokens: unary("ListTokens", async () => ({ tokens: (await deps.tokens.list()).map((t) => ({ name: t.name, role: t.role, createdAtMs: t.createdAtMs })) })),
    revokeToken: unary("RevokeToken", async (req) => {
      const revoked = await deps.tokens.revoke(req.name);
      if (!revoked) throw new NkError("INVALID_ARGUMENT", `no token named "${req.name}" (nkctl token list shows them)`);
      log.info({ tokenName: req.name }, "API token revoked");
      return { revoked };
    }),
    rotateNodeToken: unary("RotateNodeToken", async (req) => deps.rotateNodeToken(req.node)),
    listPlans: unary("ListPlans", async () => ({ plans: deps.plans.views().map(planToWire) })),
    getPlan: unary("GetPlan", async (req) => {
      assertPreviewName(req.name);
      return { plan: planToWire(deps.plans.view(req.name)) };
    }),
    deletePlan: unary("DeletePlan", async (req) => {
      assertPreviewName(req.name);
      const deleted = await deps.plans.delete(req.name);
      if (!deleted) throw new NkError("REVISION_UNKNOWN", `no preview plan "${req.name}" (nkctl plan list shows them)`);
      return { deleted };
    }),
    getBuildLog: unary("GetBuildLog", async (req) => {
      if (!deps.status.snapshot().nodes.some((n) => n.name === req.node)) throw new NkError("NODE_UNKNOWN", `node "${req.node}" is not in the inventory`);
      const found = await deps.builds.buildLog(req.node, req.revision || undefined);
      if (found === null) {
        const at = req.revision ? ` at revision ${req.revision}` : "";
        throw new NkError("REVISION_UNKNOWN", `no build of node "${req.node}"${at} is kept: builds run only with cluster.build.mode = "builders", and the coordinator keeps only each node's newest builds`);
      }
      return { node: req.node, ...found };
    }),
    watchEvents: (call: ServerWritableStream<{ afterSeq: number; tail: number; follow: boolean }, { event: ReturnType<typeof eventToWire> }>) => {
      let unsubscribe: (() => void) | undefined;
      call.on("cancelled", () => unsubscribe?.());
      Promise.resolve()
        .then(() => deps.authorize(call.metadata, "WatchEvents"))
        .then(async (principal) => {
          requireRole(principal, methodRole("WatchEvents"), "WatchEvents");
          const { afterSeq, tail, follow } = call.request;
          let last = afterSeq;
          const buffered: EventView[] = [];
          let replaying = true;
          // Subscribe before reading so nothing falls between the backlog and the live tail.
          if (follow) {
            unsubscribe = deps.status.subscribeEvents((e) => {
              if (replaying) buffered.push(e);
              else if (e.seq > last) {
                last = e.seq;
                call.write({ event: eventToWire(e) });
              }
            });
          }
          const backlog = await deps.events.readEvents({ afterSeq, tail: tail || (afterSeq ? undefined : 50) } as { afterSeq?: number; tail?: number });
          for (const e of [...backlog, ...buffered]) {
            if (e.seq <= last) continue;
            last = e.seq;
            call.write({ event: eventToWire(e) });
          }
          replaying = false;
          if (!follow) call.end();
        })
        .catch((err: unknown) => call.emit("error", toServiceError(err, log, { rpc: "WatchEvents" })));
    },
  };
}
