/**
 * A Redis that is up but refuses writes (at its maxmemory, or unable to save its data file as
 * when its disk is full), as REDIS_URL points vod at one: a real redis-server of the test's own,
 * put in those states by configuration; the real CLI and worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { pingRedis } from '../../../src/ingest/redis-server.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { freePort } from '../../helpers/free-port.js';
import { runCli, VOD_BIN } from '../../helpers/run-cli.js';
import { failSaves, fixSaves } from '../../helpers/redis-saves.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

let master: string;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  const paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'good.mp4'), durationS: 2, width: 320, height: 180 }, paths);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A redis-server on a free port with its data in a temp folder; stopped after the test. */
async function startRedis(extraArgs: string[] = []): Promise<{ dir: string; url: string; client: Redis }> {
  const dir = await makeTempDir();
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...extraArgs], { stdio: 'ignore' });
  cleanups.push(() => server.kill('SIGKILL'));
  const url = `redis://127.0.0.1:${port}`;
  await expect.poll(() => pingRedis({ url }, 500), { timeout: 10_000 }).toBeUndefined();
  const client = new Redis(port, '127.0.0.1');
  cleanups.push(() => client.disconnect());
  return { dir, url, client };
}

describe('a Redis that refuses writes', () => {
  it('vod upload says why (maxmemory, a failed save), and the same upload goes through once Redis accepts writes', async () => {
    const redis = await startRedis(['--maxmemory', '1mb', '--maxmemory-policy', 'noeviction']);
    const env = { REDIS_URL: redis.url };
    const dataDir = await makeTempDir();
    const oom = await runCli(['--data-dir', dataDir, 'upload', '--no-wait', master], { env });
    expect(oom.code, oom.stderr).toBe(1);
    expect(oom.stderr.trim()).toMatch(/^vod: Redis refused to store the job queue's data \(OOM command not allowed[^)]*\): it has reached its maxmemory; .* then run the command again \(a master already stored is kept and reused\)\.$/);

    await redis.client.config('SET', 'maxmemory', '0');
    await failSaves(redis);
    const misconf = await runCli(['--data-dir', dataDir, 'upload', '--no-wait', master], { env });
    expect(misconf.code, misconf.stderr).toBe(1);
    expect(misconf.stderr.trim()).toMatch(/^vod: Redis refused to store the job queue's data \(MISCONF .*\): it cannot write its data file to disk .*\.$/);

    await fixSaves(redis);
    const ok = await runCli(['--data-dir', dataDir, 'upload', '--no-wait', master], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/State:\s+queued/);
  });

  it('vod worker pauses with one log line per pause instead of spinning, and encodes once Redis accepts writes', async () => {
    const redis = await startRedis();
    const env = { ...process.env, REDIS_URL: redis.url, LOG_LEVEL: 'info', VMAF_MODEL: '' };
    const dataDir = await makeTempDir();
    await failSaves(redis);
    let stderr = '';
    const worker: ChildProcess = spawn(process.execPath, [VOD_BIN, '--data-dir', dataDir, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr!.on('data', (d) => (stderr += d));
    cleanups.push(() => worker.kill('SIGKILL'));
    await expect.poll(() => stderr, { timeout: 20_000 }).toContain('takes no new job for 2 s');
    await new Promise((r) => setTimeout(r, 3_000));
    // BullMQ alone refetched at once after each refusal: 70,531 lines in 12 s.
    const lines = stderr.trim().split('\n');
    expect(lines.length, stderr.slice(0, 2000)).toBeLessThan(10);
    expect(stderr).toMatch(/"pauseS":4,"msg":"Redis refused to store the job queue's data \(MISCONF/);

    await fixSaves(redis);
    const up = await runCli(['--data-dir', dataDir, 'upload', '--no-wait', '--ladder', 'fixed', master], { env: { REDIS_URL: redis.url } });
    expect(up.code, up.stderr).toBe(0);
    const id = /Title id:\s+([0-9a-f]{16})/.exec(up.stdout)![1]!;
    // Resumed after its current pause (at most 8 s here), it takes the job and publishes the title.
    await expect
      .poll(async () => (await runCli(['--data-dir', dataDir, 'status', id], { env: { REDIS_URL: redis.url } })).stdout, { timeout: 90_000, interval: 1_000 })
      .toMatch(/Job state: completed/);
  });
});
