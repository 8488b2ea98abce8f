#!/usr/bin/env node
// Entry point of the `vod` CLI: loads the TypeScript sources through tsx's ESM loader,
// so the CLI runs from a clean clone after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
// The AWS SDK (S3 store) warns once per process that its releases after January 2027 need
// Node 22; package.json pins the SDK to an exact version that runs on Node 20, so the warning
// would only be noise in every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
