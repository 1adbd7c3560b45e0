#!/usr/bin/env node
// Runs the agent daemon from its TypeScript sources through tsx, or from dist/ when built.
import { launch } from "./launch.js";
await launch("agent/src/cli");
