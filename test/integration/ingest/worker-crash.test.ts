/**
 * A worker killed (SIGKILL) in the middle of an encode publishes nothing; after its lock
 * expires the job runs again on another worker and the title is published whole.
 */
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
