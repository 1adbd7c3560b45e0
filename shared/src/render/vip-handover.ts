// The file through which the agent hands its node's API VIP over; its own module so the agent need not load the renderer.

/**
 * The agent creates this file to hand the VIP over before its node is disrupted, and removes it once the node is back
 * and healthy. On disk, not under /run: after a reboot the node must not take the VIP back before the agent says so.
 */
export const VIP_HANDOVER_FLAG = "/var/lib/nk-agent/vip-handed-over";
