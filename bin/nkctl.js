#!/usr/bin/env node
// Runs nkctl from its TypeScript sources through tsx, or from dist/ when built.
import { launch } from "./launch.js";
await launch("nkctl/src/main");
