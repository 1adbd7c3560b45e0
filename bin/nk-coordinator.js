#!/usr/bin/env node
// Runs the coordinator daemon from the compiled dist/ build (the package); in a source checkout, from the sources (bin/launch.js).
import { launch } from "./launch.js";
await launch("coordinator/src/cli");
