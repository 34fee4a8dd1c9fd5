#!/usr/bin/env node
// Brisk runs its TypeScript sources directly through tsx's loader, in this same process: no build step,
// and signals (Ctrl-C, SIGKILL in the crash tests) reach the process that owns the replication slot.
import { tsImport } from 'tsx/esm/api';

await tsImport('../src/main.ts', import.meta.url);
