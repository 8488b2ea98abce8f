/**
 * A real stack for integration tests: the embedded redis-server in a temp data folder, a
 * random queue name per stack (BullMQ's own test convention), a real worker, origin and edge.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Worker } from 'bullmq';
import { loadConfig, storeDir, type VodConfig } from '../../src/config.js';
import { resolveFfmpegPaths, type FfmpegPaths } from '../../src/encoder/ffmpeg.js';
import { startEdgeServer } from '../../src/edge-cache/edge-server.js';
import { EncodeQueue } from '../../src/ingest/encode-queue.js';
import { startEncodeWorker, stopEncodeWorker } from '../../src/ingest/encode-worker.js';
import { ensureRedis, type RedisHandle } from '../../src/ingest/redis-server.js';
import { FsObjectStore } from '../../src/origin/fs-object-store.js';
import { startOriginServer, type RunningServer } from '../../src/origin/origin-server.js';
import type { EdgeServer } from '../../src/edge-cache/edge-server.js';
import { makeTempDir } from './temp-dir.js';

export interface TestStack {
  readonly dataDir: string;
  readonly config: VodConfig;
  readonly paths: FfmpegPaths;
  readonly store: FsObjectStore;
  readonly redis: RedisHandle;
  readonly queue: EncodeQueue;
  readonly queueName: string;
  worker: Worker | undefined;
  origin: RunningServer | undefined;
  edge: (RunningServer & { edge: EdgeServer }) | undefined;
  startWorker(): Promise<Worker>;
  startServers(cacheBytes?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Test configuration: small retry backoff and short locks so retries happen within a test. */
export function testConfig(dataDir: string, overrides: NodeJS.ProcessEnv = {}): VodConfig {
  return loadConfig({ VOD_DATA_DIR: dataDir, VOD_RETRY_BACKOFF_MS: '200', VOD_X264_PRESET: 'ultrafast', ...overrides });
}

export async function createTestStack(options: { env?: NodeJS.ProcessEnv } = {}): Promise<TestStack> {
  const dataDir = await makeTempDir();
  const config = testConfig(dataDir, options.env);
  const paths = resolveFfmpegPaths(config);
  const store = new FsObjectStore(storeDir(config));
  const redis = await ensureRedis(config);
  const queueName = `test-${randomBytes(4).toString('hex')}`;
  const queue = new EncodeQueue(redis, config, queueName);
  const stack: TestStack = {
    dataDir,
    config,
    paths,
    store,
    redis,
    queue,
    queueName,
    worker: undefined,
    origin: undefined,
    edge: undefined,
    async startWorker() {
      stack.worker = await startEncodeWorker({ redis, config, store, paths, queueName });
      return stack.worker;
    },
    async startServers(cacheBytes = 64 * 1024 * 1024) {
      stack.origin = await startOriginServer({ store, host: '127.0.0.1', port: 0 });
      stack.edge = await startEdgeServer({ originUrl: stack.origin.url, cacheBytes, host: '127.0.0.1', port: 0 });
    },
    async stop() {
      if (stack.worker) await stopEncodeWorker(stack.worker);
      await stack.edge?.close();
      await stack.origin?.close();
      await queue.obliterate().catch(() => {});
      await queue.close();
      await redis.stopIfStartedHere();
    },
  };
  return stack;
}

/** Path of a file in ../shared/media. */
export const sharedMedia = (name: string): string => path.resolve(import.meta.dirname, '../../../shared/media', name);
