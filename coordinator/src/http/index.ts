// Public surface of coordinator/http: the fastify app, its metrics, and the page renderer (for tools and tests).
export { buildHttpApp, JSON_BODY_LIMIT, type HttpDeps, type HttpPlugin } from "./build-http-app.js";
export { CoordinatorMetrics, type CoordinatorMetricsOptions, type GrpcStreamKind, type LeaseKind, type PushResult } from "./coordinator-metrics.js";
export { renderStatusPage } from "./render-status-page.js";
export { httpErrorFor, type HttpError } from "./http-errors.js";
export { localHttpUrl, splitHostPort } from "./listen-address.js";
