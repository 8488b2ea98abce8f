/**
 * A real stack for integration tests, built by the composition root (src/stack/whole-stack.ts):
 * the embedded redis-server in a temp data folder, a random queue name per stack (BullMQ's own
 * test convention), and — when a test asks — a real worker, origin and edge.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadConfig, storeDir, type VodConfig } from '../../src/config.js';
import { resolveFfmpegPaths } from '../../src/encoder/ffmpeg.js';
import { FsObjectStore } from '../../src/origin/fs-object-store.js';
import { WholeStack } from '../../src/stack/whole-stack.js';
import { makeTempDir } from './temp-dir.js';

export interface TestStack extends WholeStack {
  readonly dataDir: string;
  readonly config: VodConfig;
  readonly paths: WholeStack['parts']['paths'];
  readonly store: FsObjectStore;
  /** Starts the origin and an edge in front of it, both on free ports. */
  startServers(cacheBytes?: number): Promise<void>;
}

/** Test configuration: small retry backoff and short locks so retries happen within a test. */
export function testConfig(dataDir: string, overrides: NodeJS.ProcessEnv = {}): VodConfig {
  return loadConfig({ VOD_DATA_DIR: dataDir, VOD_RETRY_BACKOFF_MS: '200', VOD_X264_PRESET: 'ultrafast', VOD_HOST: '127.0.0.1', ...overrides });
}

/**
 * Opens a stack (Redis and a queue of its own); `stop()` also deletes the queue's jobs.
 * @param options.dataDir the data folder to use (e.g. one whose store is a small filesystem); default a fresh temp folder.
 */
export async function createTestStack(options: { env?: NodeJS.ProcessEnv; dataDir?: string } = {}): Promise<TestStack> {
  const dataDir = options.dataDir ?? (await makeTempDir());
  const config = testConfig(dataDir, options.env);
  const paths = resolveFfmpegPaths(config);
  const store = new FsObjectStore(storeDir(config));
  const whole = await WholeStack.open({ config, store, paths }, { queueName: `test-${randomBytes(4).toString('hex')}` });
  const stop = whole.stop.bind(whole);
  return Object.assign(whole, {
    dataDir,
    config,
    paths,
    store,
    async startServers(cacheBytes = 64 * 1024 * 1024) {
      await whole.startOrigin({ port: 0 });
      await whole.startEdge({ cacheBytes, port: 0 });
    },
    stop: () => stop({ obliterateQueue: true }),
  });
}

/** Path of a file in ../shared/media. */
export const sharedMedia = (name: string): string => path.resolve(import.meta.dirname, '../../../shared/media', name);
