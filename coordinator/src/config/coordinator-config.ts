// The coordinator's configuration schema: every field, its default, checked at start.
import { z } from "zod";
import { LISTEN_HOST_PORT } from "../../../shared/src/names/index.js";

const hostPort = z.string().regex(LISTEN_HOST_PORT, "expected host:port with a port from 0 (any free one) to 65535, e.g. 0.0.0.0:7443 or [::1]:7443");

/** True for 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach. */
export function isLoopbackListen(listen: string): boolean {
  const host = listen.slice(0, listen.lastIndexOf(":")).replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export const coordinatorConfigSchema = z.strictObject({
  stateDir: z.string().min(1).default("/var/lib/nk-coordinator"),
  grpc: z.strictObject({ listen: hostPort.default("0.0.0.0:7443") }).prefault({}),
  http: z
    .strictObject({
      listen: hostPort.default("0.0.0.0:7080"),
      /** The status page and read-only JSON without a token (homelab default); the admin API always needs one. */
      publicStatus: z.boolean().default(true),
      maxPushBytes: z.number().int().positive().default(256 * 1024 * 1024),
      /**
       * Serve plain HTTP instead of HTTPS. Only on a loopback address (e.g. behind a local TLS-terminating proxy):
       * tokens and enrolment secrets cross this listener.
       */
      plaintext: z.boolean().default(false),
      /**
       * How nodes reach this listener, e.g. http://coordinator.lan:7080: the bundles' default nk source is
       * <publicUrl>/nk/source/…. Default: https (http with plaintext)://<listen host, or tls.hosts[0], or the host name>:<port>.
       */
      publicUrl: z.string().regex(/^https?:\/\/[^/?#]+\/?$/, "expected http(s)://host[:port], e.g. http://coordinator.lan:7080").optional(),
    })
    .prefault({})
    // A malformed listen is reported on its own, not again here.
    .refine((h) => !h.plaintext || !LISTEN_HOST_PORT.test(h.listen) || isLoopbackListen(h.listen), {
      error: (issue) =>
        `plain HTTP is allowed only on a loopback address (127.0.0.0/8, [::1] or localhost), not ${(issue.input as { listen: string }).listen}: ` +
        "drop http.plaintext to serve HTTPS with the coordinator's CA, or listen on one (http.listen or --http-listen), e.g. 127.0.0.1:7080",
      path: ["plaintext"],
      // Each rule across settings names them all: the error then says which the file and which a flag gave.
      params: { involves: ["http.listen", "http.plaintext"] },
    }),
  tls: z
    .strictObject({
      /** Names and addresses agents use to reach this coordinator; localhost names are always included. */
      hosts: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  /** Read once at start; without it a token is generated into <stateDir>/admin.token. */
  adminTokenFile: z.string().min(1).optional(),
  /** Kubernetes access for drains, cordons and node readiness; either this or `kube: none` is required. */
  kubeconfigFile: z.string().min(1).optional(),
  /** `none`: run without Kubernetes on purpose, so nodes reboot without a drain or a Ready check. */
  kube: z.literal("none").optional(),
  store: z
    .discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("file") }),
      z.strictObject({
        kind: z.literal("etcd"),
        // An http(s) URL per member: zod's url() took "etcd1:2379" for a URL with the scheme "etcd1".
        endpoints: z.array(z.string().regex(/^https?:\/\/[^/?#\s]+\/?$/, "expected an etcd member's URL, e.g. http://127.0.0.1:2379 or https://etcd1.lan:2379")).min(1),
        prefix: z.string().default("/nk/"),
        tls: z.strictObject({ caFile: z.string().min(1), certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional() }).optional(),
        auth: z.strictObject({ username: z.string().min(1), passwordFile: z.string().min(1) }).optional(),
        /** 256-bit key (raw, hex or base64) sealing secret values in etcd with AES-256-GCM; the same file on every coordinator. */
        secretsKeyFile: z.string().min(1).optional(),
      }),
    ])
    .default({ kind: "file" }),
  source: z
    .discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("origin") }),
      z.strictObject({
        kind: z.literal("upstream"),
        url: z.string().min(1),
        branch: z.string().default("main"),
        intervalSeconds: z.number().int().min(5).default(60),
        webhookSecretFile: z.string().min(1).optional(),
        /** HTTP user for passwordFile; default "git". */
        username: z.string().min(1).optional(),
        /** First line: the HTTP password or access token, handed to git by an askpass script. */
        passwordFile: z.string().min(1).optional(),
        /** Private key for an ssh:// upstream (with sshKnownHostsFile). */
        sshKeyFile: z.string().min(1).optional(),
        sshKnownHostsFile: z.string().min(1).optional(),
      })
        .refine((s) => !/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(s.url), {
          message: "must not carry a password (it would show on git's command line and in the config): put it in passwordFile",
          path: ["url"],
        })
        .refine((s) => (s.sshKeyFile === undefined) === (s.sshKnownHostsFile === undefined), {
          message: "sshKeyFile and sshKnownHostsFile go together (ssh checks the upstream's host key strictly): set both, or neither",
          path: ["sshKnownHostsFile"],
          params: { involves: ["source.sshKeyFile", "source.sshKnownHostsFile"] },
        })
        .refine((s) => s.username === undefined || s.passwordFile !== undefined, {
          message: "username needs passwordFile (the file holding its password or token): set source.passwordFile, or drop username",
          path: ["username"],
          params: { involves: ["source.username", "source.passwordFile"] },
        }),
    ])
    .default({ kind: "origin" }),
  heartbeatSeconds: z.number().int().min(1).max(300).default(10),
  healthCheckIntervalSeconds: z.number().int().min(1).default(15),
  /** Added to the inventory's drain, reboot and health deadlines so an agent's own timeouts act before the coordinator halts. */
  leaseDeadlineGraceSeconds: z.number().int().min(0).max(3600).default(60),
  /** How long a preview plan (refs/heads/preview/<name>) and the nodes' builds of it are kept; nkctl plan delete drops one sooner. */
  previewTtlMinutes: z.number().int().min(1).max(525_600).default(1440),
  /** This coordinator's name among several (etcd store); default host name and gRPC port. */
  id: z.string().min(1).optional(),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
})
  .refine((c) => (c.kubeconfigFile === undefined) !== (c.kube === undefined), {
    message:
      "set exactly one of kubeconfigFile (drains, cordons and node readiness through Kubernetes) or kube: none (nodes are then rebooted without a drain or a Ready check)",
    path: ["kube"],
    params: { involves: ["kubeconfigFile", "kube"] },
  })
  .refine((c) => c.store.kind !== "etcd" || c.source.kind === "upstream", {
    message: "with store.kind etcd every coordinator follows one upstream repo: set source.kind upstream (a push to one coordinator's own repo would not reach the others)",
    path: ["source"],
    params: { involves: ["store.kind", "source.kind"] },
  });

export type CoordinatorConfig = z.output<typeof coordinatorConfigSchema>;
export type CoordinatorConfigInput = z.input<typeof coordinatorConfigSchema>;
