// Builds the HTTP app around test doubles for the tests of this folder and test/status-page.test.ts.
import type { FastifyInstance } from "fastify";
import { silentLogger } from "../../../shared/src/log/index.js";
import { buildHttpApp, type HttpPlugin } from "./build-http-app.js";
import { CoordinatorMetrics } from "./coordinator-metrics.js";
import type { FleetLockEndpoint } from "./fleetlock-routes.js";
import { TestAdminActions } from "./test-admin-actions.js";
import { T0, TestStatusSource } from "./test-status-source.js";

export const ADMIN_TOKEN = "nk-admin-test-token-0123456789";

export interface TestApp {
  readonly app: FastifyInstance;
  readonly status: TestStatusSource;
  readonly admin: TestAdminActions;
  readonly metrics: CoordinatorMetrics;
}

export function buildTestApp(
  options: { publicStatus?: boolean; status?: TestStatusSource; extraPlugins?: HttpPlugin[]; now?: () => number; streamIntervalMs?: number; https?: { key: string; cert: string }; fleetlock?: FleetLockEndpoint } = {},
): TestApp {
  const status = options.status ?? new TestStatusSource();
  const admin = new TestAdminActions();
  const metrics = new CoordinatorMetrics({ defaultMetrics: false });
  const app = buildHttpApp({
    status,
    admin,
    metrics,
    log: silentLogger(),
    authenticateAdmin: (req) => req.headers.authorization === `Bearer ${ADMIN_TOKEN}`,
    now: options.now ?? (() => T0),
    ...(options.publicStatus === undefined ? {} : { publicStatus: options.publicStatus }),
    ...(options.extraPlugins === undefined ? {} : { extraPlugins: options.extraPlugins }),
    ...(options.streamIntervalMs === undefined ? {} : { streamIntervalMs: options.streamIntervalMs }),
    ...(options.https === undefined ? {} : { https: options.https }),
    ...(options.fleetlock === undefined ? {} : { fleetlock: options.fleetlock }),
  });
  return { app, status, admin, metrics };
}

export const authHeader = { authorization: `Bearer ${ADMIN_TOKEN}` };
