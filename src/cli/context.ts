/**
 * What every `vod` command needs, built once from the environment and the global flags.
 */
import { loadConfig, type VodConfig } from '../config.js';
import { resolveFfmpegPaths, type FfmpegPaths } from '../encoder/ffmpeg.js';
import { createObjectStore } from '../origin/create-object-store.js';
import type { ObjectStore } from '../origin/object-store.js';
import { createLogger, type Logger } from '../util/logger.js';
import { readServeRecord } from './serve-record.js';

export interface GlobalFlags {
  dataDir?: string;
  logLevel?: string;
}

export interface CliContext {
  readonly config: VodConfig;
  readonly log: Logger;
  readonly store: ObjectStore;
  readonly paths: FfmpegPaths;
}

/**
 * Builds the command context: env + flags → config (validated), logger, store, ffmpeg paths.
 * The log level is `--log-level`, else LOG_LEVEL, else the command's default. Without
 * `VOD_EDGE_URL`, printed playback URLs name the edge of a `vod serve` running on the same data
 * folder (serve-record.ts), else `http://localhost:<VOD_EDGE_PORT>`.
 * @throws UserError for invalid environment variables.
 */
export async function createContext(env: NodeJS.ProcessEnv, flags: GlobalFlags, defaultLogLevel = 'info'): Promise<CliContext> {
  const loaded = loadConfig({ ...env, ...(flags.dataDir ? { VOD_DATA_DIR: flags.dataDir } : {}) });
  // Printed playback URLs follow a `vod serve` running on this data folder, unless VOD_EDGE_URL says otherwise.
  const served = env.VOD_EDGE_URL ? undefined : readServeRecord(loaded.dataDir);
  const config = served ? Object.freeze({ ...loaded, publicEdgeUrl: served.edgeUrl }) : loaded;
  const log = createLogger(flags.logLevel ?? env.LOG_LEVEL ?? defaultLogLevel);
  return { config, log, store: await createObjectStore(config), paths: resolveFfmpegPaths(config) };
}
