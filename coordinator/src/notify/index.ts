// Public surface of coordinator/notify: rollout notifications to webhooks, ntfy and Slack-compatible targets.
export { Notifier, type NotifierDeps, type DeliveryOutcome } from "./notifier.js";
export { notificationFor, notificationsOf } from "./notify-message.js";
