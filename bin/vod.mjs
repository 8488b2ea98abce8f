#!/usr/bin/env node
// Entry point of the `vod` CLI: loads the TypeScript sources through tsx's ESM loader,
// so the CLI runs from a clean clone after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
