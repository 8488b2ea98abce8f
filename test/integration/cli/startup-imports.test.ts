/**
 * What the `vod` command loads before it runs (src/cli/main.ts): each command imports its own
 * modules when it runs, so `vod --help` and a refused upload start without the servers, the
 * worker, the charts or the AWS SDK. The real CLI in a child process, with a Node module hook
 * (node:module register) that notes every package the process resolves.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { VOD_BIN } from '../../helpers/run-cli.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

let dir: string;

beforeAll(async () => {
  dir = await makeTempDir();
  // A resolve hook that appends each bare specifier (a package, not a relative file) to a list.
  await fs.writeFile(path.join(dir, 'hooks.mjs'), `import fs from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  if (!/^[./]|^node:|^file:/.test(specifier)) fs.appendFileSync(process.env.VOD_TEST_IMPORTS, specifier + '\\n');\n  return next(specifier, context);\n}\n`);
  await fs.writeFile(path.join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${path.join(dir, 'hooks.mjs')}`).href)});\n`);
});

/** Runs the CLI with the hook; @returns the packages it resolved and its exit code. */
async function packagesLoadedBy(args: string[], name: string): Promise<{ code: number | null; packages: Set<string> }> {
  const list = path.join(dir, `${name}.txt`);
  await fs.writeFile(list, '');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', path.join(dir, 'register.mjs'), VOD_BIN, ...args], {
      env: { ...process.env, VOD_TEST_IMPORTS: list, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
  return { code, packages: new Set((await fs.readFile(list, 'utf8')).split('\n').filter(Boolean)) };
}

const HEAVY = ['vega', 'vega-lite', '@aws-sdk/client-s3', 'express', 'bullmq', 'ioredis'];

describe('vod start-up', () => {
  it('--help loads none of the servers, the queue, the charts or the AWS SDK', async () => {
    const { code, packages } = await packagesLoadedBy(['--help'], 'help');
    expect(code).toBe(0);
    expect(packages.has('commander')).toBe(true); // the hook saw the process's packages
    for (const p of HEAVY) expect(packages.has(p), p).toBe(false);
  });

  it('an upload refused for a missing file loads the queue but no server, chart or AWS SDK (the store is a folder)', async () => {
    const { code, packages } = await packagesLoadedBy(['--data-dir', path.join(dir, 'data'), 'upload', path.join(dir, 'missing.mp4')], 'upload');
    expect(code).toBe(2);
    expect(packages.has('bullmq')).toBe(true);
    for (const p of ['vega', 'vega-lite', '@aws-sdk/client-s3', 'express']) expect(packages.has(p), p).toBe(false);
  });
});
