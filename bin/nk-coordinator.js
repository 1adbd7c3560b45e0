#!/usr/bin/env node
// Runs the coordinator daemon from its TypeScript sources through tsx, or from dist/ when built.
import { launch } from "./launch.js";
await launch("coordinator/src/cli");
