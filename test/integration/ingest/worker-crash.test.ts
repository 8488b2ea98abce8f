/**
 * A worker killed (SIGKILL) in the middle of an encode publishes nothing; after its lock
 * expires the job runs again on another worker and the title is published whole. Each death
 * costs one attempt: a job is never dropped while attempts remain, a crash-looping one ends
 * failed with its reason, and a dead attempt's staging folder is swept when the job runs again.
 */
import fs from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeDir, type VodConfig } from '../../../src/config.js';
import { resolveFfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { EncodeQueue } from '../../../src/ingest/encode-queue.js';
import { startEncodeWorker, stopEncodeWorker } from '../../../src/ingest/encode-worker.js';
import { ensureRedis, type RedisHandle } from '../../../src/ingest/redis-server.js';
import { uploadMaster } from '../../../src/ingest/upload.js';
import { FsObjectStore } from '../../../src/origin/fs-object-store.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { VOD_BIN } from '../../helpers/run-cli.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { testConfig } from '../../helpers/test-stack.js';

const env = { VOD_WORKER_LOCK_MS: '2000', VOD_STALLED_INTERVAL_MS: '1000', VOD_X264_PRESET: 'fast', VOD_RETRY_BACKOFF_MS: '200' };
let config: VodConfig;
let redis: RedisHandle;
let queue: EncodeQueue;

beforeAll(async () => {
  const dataDir = await makeTempDir();
  config = testConfig(dataDir, env);
  redis = await ensureRedis(config);
  queue = new EncodeQueue(redis, config);
});

afterAll(async () => {
  await queue?.close();
  await redis?.stopIfStartedHere();
});

describe('worker killed mid-encode', () => {
  it('leaves no half-published title and the job is run again to completion', async () => {
    const paths = resolveFfmpegPaths(config);
    const store = new FsObjectStore(storeDir(config));
    const master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'long.mp4'), durationS: 12, width: 960, height: 540 }, paths);

    const child = spawn(process.execPath, [VOD_BIN, '--data-dir', config.dataDir, '--log-level', 'warn', 'worker'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const { titleId } = await uploadMaster({ file: master, title: 'Crash test', ladder: 'fixed' }, { store, queue: async () => queue, paths });

    // Wait until the worker is well into the encode, then kill it without warning.
    await expect
      .poll(async () => {
        const s = await queue.status(titleId);
        return s?.state === 'active' && s.progress?.stage === 'encode' && s.progress.percent > 3;
      }, { timeout: 60_000, interval: 100 })
      .toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    expect(await store.exists(`vod/${titleId}`)).toBe(false);
    expect(await store.list('vod')).toEqual([]);

    const worker = await startEncodeWorker({ redis, config, store, paths });
    try {
      const final = await queue.waitUntilFinished(titleId, () => {});
      expect(final.state, final.failedReason).toBe('completed');
    } finally {
      await stopEncodeWorker(worker);
    }
    expect(await store.exists(`vod/${titleId}/master.m3u8`)).toBe(true);
    expect(await store.exists(`vod/${titleId}/title.json`)).toBe(true);
    // Every rendition of the 960x540 ladder is complete.
    const names = await store.list(`vod/${titleId}`);
    expect(names.filter((n) => n.startsWith('video_'))).toHaveLength(5);
  });
});

/** Starts a `vod worker` child, waits until it has started attempt `attempt` of the job, and kills it. */
async function killDuringAttempt(q: EncodeQueue, dataDir: string, workerEnv: Record<string, string>, titleId: string, attempt: number): Promise<void> {
  const child = spawn(process.execPath, [VOD_BIN, '--data-dir', dataDir, '--log-level', 'warn', 'worker'], { env: { ...process.env, ...workerEnv }, stdio: 'ignore' });
  try {
    await expect
      .poll(async () => {
        const s = await q.status(titleId);
        return s?.state === 'active' && s.attemptsStarted === attempt && s.progress?.stage === 'encode';
      }, { timeout: 60_000, interval: 100 })
      .toBe(true);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

describe('workers dying again and again', () => {
  it('counts each death as one attempt: never dropped while attempts remain, then failed with the reason; dead attempts swept', async () => {
    const paths = resolveFfmpegPaths(config);
    const master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'loop.mp4'), durationS: 8, width: 640, height: 360 }, paths);
    for (const { attempts, kills, expected } of [
      { attempts: 4, kills: 3, expected: 'completed' },
      { attempts: 2, kills: 2, expected: 'failed' },
    ] as const) {
      const dataDir = await makeTempDir();
      const workerEnv = { ...env, VOD_JOB_ATTEMPTS: String(attempts) };
      const cfg = testConfig(dataDir, workerEnv);
      const r = await ensureRedis(cfg);
      const q = new EncodeQueue(r, cfg);
      const store = new FsObjectStore(storeDir(cfg));
      try {
        const { titleId } = await uploadMaster({ file: master, title: 'Crash loop', ladder: 'fixed' }, { store, queue: async () => q, paths });
        for (let k = 1; k <= kills; k++) await killDuringAttempt(q, dataDir, workerEnv, titleId, k);
        const staging = path.join(storeDir(cfg), '.staging');
        // Each attempt swept the one before it: only the last dead attempt's folder is left.
        expect((await fs.readdir(staging)).filter((n) => n.startsWith(`vod_${titleId}.`))).toHaveLength(1);

        const worker = await startEncodeWorker({ redis: r, config: cfg, store, paths });
        try {
          const final = await q.waitUntilFinished(titleId, () => {});
          expect(final.state, `${attempts} attempts, ${kills} kills: ${final.failedReason}`).toBe(expected);
          expect(final.stalls).toBe(kills);
          if (expected === 'failed') {
            expect(final.failedReason).toMatch(/^gave up after 2 attempts: the worker running this job died in 2 of them/);
            expect(await store.exists(`vod/${titleId}`)).toBe(false);
          } else {
            expect(await store.exists(`vod/${titleId}/master.m3u8`)).toBe(true);
          }
        } finally {
          await stopEncodeWorker(worker);
        }
        // The attempt that ran swept the dead ones' folders (and removed or published its own).
        if (expected === 'completed') expect((await fs.readdir(staging)).filter((n) => n.startsWith(`vod_${titleId}.`))).toEqual([]);
      } finally {
        await q.obliterate().catch(() => {});
        await q.close();
        await r.stopIfStartedHere();
      }
    }
  });
});
