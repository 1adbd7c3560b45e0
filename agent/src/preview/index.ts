// Public surface of agent/preview: build-only previews, their pure machine, runner and classification.
export { classifyPreview, describeChange, storeName, type Classification, type ClassifyInput } from "./classify-preview.js";
export { PREVIEW_IDLE, previewTransition, type PreviewEffect, type PreviewEvent, type PreviewJob, type PreviewState, type PreviewStep } from "./preview-transition.js";
export { PreviewRunner, logTail, type PreviewRunnerOptions } from "./preview-runner.js";
