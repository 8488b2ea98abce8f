/**
 * All configuration of vod-edge in one typed object, validated once (zod) with a clear
 * error. Each field says which module uses it, its unit and its default. Only CLI entry
 * points call `loadConfig` with `process.env`; everything else receives a `VodConfig`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError } from './util/errors.js';

/** Root of the project checkout (the folder holding package.json). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface VodConfig {
  /** ingest, origin: folder holding the object store (`store/`) and Redis's data (`redis/`). Default `<project>/data`. Env `VOD_DATA_DIR`. */
  readonly dataDir: string;
  /** ingest: Redis to use; unset = `vod` starts its own redis-server under `dataDir/redis`. Env `REDIS_URL`. */
  readonly redisUrl: string | undefined;
  /** encoder: ffmpeg binary; default the one shipped by @ffmpeg-installer/ffmpeg. Env `FFMPEG_PATH`. */
  readonly ffmpegPath: string | undefined;
  /** encoder: ffprobe binary; default the one shipped by @ffprobe-installer/ffprobe. Env `FFPROBE_PATH`. */
  readonly ffprobePath: string | undefined;
  /** encoder: HLS target segment duration in seconds (DESIGN.md: 4 s). Env `VOD_SEGMENT_DURATION_S`. */
  readonly segmentDurationS: number;
  /**
   * encoder: length of the chunks a video rendition is encoded in, s, rounded to whole segments
   * (chunk-plan.ts); titles no longer than one chunk are encoded in one pass; 0 = always one
   * pass. Default 48 (12 segments of 4 s; Netflix-style chunked encoding uses chunks of tens of
   * seconds to a few minutes). Env `VOD_CHUNK_DURATION_S`.
   */
  readonly chunkDurationS: number;
  /**
   * encoder: libx264 preset for final encodes. Default `medium` (x264's own default; the
   * per-title trial encodes use `veryfast`). Env `VOD_X264_PRESET`.
   */
  readonly x264Preset: string;
  /**
   * ingest worker: BullMQ lock duration in ms. The worker renews the lock every half of it
   * while ffmpeg runs in a child process, so long encodes are never reported stalled; a
   * worker that dies loses its lock after this long and the job is retried. Default 60000.
   * Env `VOD_WORKER_LOCK_MS`.
   */
  readonly workerLockDurationMs: number;
  /** ingest worker: how often (ms) workers look for stalled jobs. Default 30000. Env `VOD_STALLED_INTERVAL_MS`. */
  readonly stalledIntervalMs: number;
  /** ingest: name of the BullMQ encode queue (uploads, workers and status use it). Default `vod-encode`. Env `VOD_QUEUE_NAME`. */
  readonly queueName: string;
  /** ingest: attempts per encode job (1 = no retry). Default 3. Env `VOD_JOB_ATTEMPTS`. */
  readonly jobAttempts: number;
  /** ingest: first retry delay in ms, doubled each retry (BullMQ exponential backoff). Default 5000. Env `VOD_RETRY_BACKOFF_MS`. */
  readonly retryBackoffMs: number;
  /** origin: TCP port of `vod origin`. Default 8080. Env `VOD_ORIGIN_PORT`. */
  readonly originPort: number;
  /** edge: TCP port of `vod edge`. Default 8081. Env `VOD_EDGE_PORT`. */
  readonly edgePort: number;
  /** keys: TCP port of `vod keys`, the key server of protected titles. Default 8082. Env `VOD_KEY_PORT`. */
  readonly keyPort: number;
  /**
   * ingest: the key server's URL as players reach it, written into protected titles' playlists
   * (EXT-X-KEY URI). Default `http://localhost:<keyPort>`. Env `VOD_KEY_SERVER_URL`.
   */
  readonly keyServerUrl: string;
  /** host the servers bind to. Default 127.0.0.1. Env `VOD_HOST`. */
  readonly host: string;
  /** edge, steering, `vod sign`: HMAC key of signed playback URLs. Env `VOD_SIGNING_KEY`. */
  readonly signingKey: string | undefined;
  /** edge: bearer token for /admin routes (purge, prefill); unset = loopback clients only. Env `VOD_ADMIN_TOKEN`. */
  readonly adminToken: string | undefined;
  /**
   * encoder: Netflix VMAF model file (`.pkl`, with its `.pkl.model` beside it) for the libvmaf
   * filter; unset = per-title ladders are built on PSNR and no VMAF is measured. Env `VMAF_MODEL`.
   */
  readonly vmafModelPath: string | undefined;
  /** edge: folder of the player page served at /player/. Default `<project>/player-demo`. Env `VOD_PLAYER_DIR`. */
  readonly playerDir: string;
  /**
   * edge: folder of network throughput traces that shaped sessions can replay (dataset folders of
   * Pensieve-format .txt files). Default `<project>/../shared/traces/net`. Env `VOD_NET_TRACES_DIR`.
   */
  readonly netTracesDir: string;
  /**
   * ingest, origin, worker: where the object store lives: unset = the folder `<dataDir>/store`;
   * `s3://bucket/prefix` = an S3-compatible bucket (origin/s3-object-store.ts). Env `VOD_STORE_URL`.
   */
  readonly storeUrl: string | undefined;
  /**
   * S3 settings from the standard AWS variables: `AWS_ENDPOINT_URL_S3` (else `AWS_ENDPOINT_URL`;
   * unset = AWS itself), `AWS_REGION` (default us-east-1); credentials come from the SDK's own
   * chain (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, profiles, ...). `cacheBytes`: the
   * local cache of downloaded masters a worker keeps, bytes (env `VOD_S3_CACHE_BYTES`, default
   * 16 GiB).
   */
  readonly s3: { readonly endpoint: string | undefined; readonly region: string; readonly cacheBytes: number };
  /** ingest CLI: the edge's URL as viewers reach it, for printed playback URLs. Default `http://localhost:<edgePort>`. Env `VOD_EDGE_URL`. */
  readonly publicEdgeUrl: string;
}

const intFromEnv = (min: number) => z.coerce.number().int().min(min);

/**
 * Secrets, validated the same way whether they come from the environment or a flag: an HMAC
 * key of signed URLs needs at least 16 characters (128 bits if random; RFC 2104 §3 asks for
 * keys no shorter than the hash output for full strength, and 16 is our floor), an admin
 * token at least 8.
 */
export const SIGNING_KEY_MIN_CHARS = 16;
export const ADMIN_TOKEN_MIN_CHARS = 8;
export const signingKeySchema = z.string().min(SIGNING_KEY_MIN_CHARS, `must be at least ${SIGNING_KEY_MIN_CHARS} characters`);
export const adminTokenSchema = z.string().min(ADMIN_TOKEN_MIN_CHARS, `must be at least ${ADMIN_TOKEN_MIN_CHARS} characters`);

const envSchema = z.object({
  VOD_DATA_DIR: z.string().min(1).optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  FFMPEG_PATH: z.string().min(1).optional(),
  FFPROBE_PATH: z.string().min(1).optional(),
  VOD_SEGMENT_DURATION_S: intFromEnv(1).max(30).default(4),
  VOD_CHUNK_DURATION_S: intFromEnv(0).max(3600).default(48),
  VOD_S3_CACHE_BYTES: intFromEnv(0).default(16 * 1024 ** 3),
  VOD_X264_PRESET: z
    .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'])
    .default('medium'),
  VOD_WORKER_LOCK_MS: intFromEnv(1000).default(60_000),
  VOD_STALLED_INTERVAL_MS: intFromEnv(500).default(30_000),
  VOD_JOB_ATTEMPTS: intFromEnv(1).max(20).default(3),
  VOD_QUEUE_NAME: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -').default('vod-encode'),
  VOD_RETRY_BACKOFF_MS: intFromEnv(0).default(5_000),
  VOD_ORIGIN_PORT: intFromEnv(0).max(65535).default(8080),
  VOD_EDGE_PORT: intFromEnv(0).max(65535).default(8081),
  VOD_KEY_PORT: intFromEnv(0).max(65535).default(8082),
  VOD_KEY_SERVER_URL: z.url({ protocol: /^https?$/ }).optional(),
  VOD_HOST: z.string().min(1).default('127.0.0.1'),
  VOD_EDGE_URL: z.url({ protocol: /^https?$/ }).optional(),
  VOD_SIGNING_KEY: signingKeySchema.optional(),
  VOD_ADMIN_TOKEN: adminTokenSchema.optional(),
  VOD_STORE_URL: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._/-]*)?$/, 'must be s3://bucket/prefix')
    .optional(),
  AWS_ENDPOINT_URL_S3: z.url({ protocol: /^https?$/ }).optional(),
  AWS_ENDPOINT_URL: z.url({ protocol: /^https?$/ }).optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  VOD_PLAYER_DIR: z.string().min(1).optional(),
  VOD_NET_TRACES_DIR: z.string().min(1).optional(),
  VMAF_MODEL: z
    .string()
    .refine((p) => fs.existsSync(p) && fs.existsSync(`${p}.model`), 'no such model file (the .pkl and its .pkl.model must both exist)')
    .optional(),
});

/**
 * Builds the configuration from environment variables (empty strings count as unset).
 * @throws UserError naming the first bad variable and why it is bad.
 */
export function loadConfig(env: NodeJS.ProcessEnv): VodConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`Environment variable ${String(issue.path[0])} is invalid: ${issue.message}.`);
  }
  const e = parsed.data;
  return Object.freeze({
    dataDir: path.resolve(e.VOD_DATA_DIR ?? path.join(PROJECT_ROOT, 'data')),
    redisUrl: e.REDIS_URL,
    ffmpegPath: e.FFMPEG_PATH,
    ffprobePath: e.FFPROBE_PATH,
    segmentDurationS: e.VOD_SEGMENT_DURATION_S,
    chunkDurationS: e.VOD_CHUNK_DURATION_S,
    x264Preset: e.VOD_X264_PRESET,
    workerLockDurationMs: e.VOD_WORKER_LOCK_MS,
    stalledIntervalMs: e.VOD_STALLED_INTERVAL_MS,
    jobAttempts: e.VOD_JOB_ATTEMPTS,
    queueName: e.VOD_QUEUE_NAME,
    retryBackoffMs: e.VOD_RETRY_BACKOFF_MS,
    originPort: e.VOD_ORIGIN_PORT,
    edgePort: e.VOD_EDGE_PORT,
    keyPort: e.VOD_KEY_PORT,
    keyServerUrl: (e.VOD_KEY_SERVER_URL ?? `http://localhost:${e.VOD_KEY_PORT}`).replace(/\/+$/, ''),
    host: e.VOD_HOST,
    signingKey: e.VOD_SIGNING_KEY,
    adminToken: e.VOD_ADMIN_TOKEN,
    vmafModelPath: e.VMAF_MODEL ? path.resolve(e.VMAF_MODEL) : undefined,
    storeUrl: e.VOD_STORE_URL,
    s3: Object.freeze({ endpoint: e.AWS_ENDPOINT_URL_S3 ?? e.AWS_ENDPOINT_URL, region: e.AWS_REGION, cacheBytes: e.VOD_S3_CACHE_BYTES }),
    playerDir: path.resolve(e.VOD_PLAYER_DIR ?? path.join(PROJECT_ROOT, 'player-demo')),
    netTracesDir: path.resolve(e.VOD_NET_TRACES_DIR ?? path.join(PROJECT_ROOT, '..', 'shared', 'traces', 'net')),
    publicEdgeUrl: (e.VOD_EDGE_URL ?? `http://localhost:${e.VOD_EDGE_PORT}`).replace(/\/+$/, ''),
  });
}

/** Folder of the object store inside the data directory. */
export const storeDir = (config: Pick<VodConfig, 'dataDir'>): string => path.join(config.dataDir, 'store');
/** Folder of the embedded Redis's data (AOF, socket, pid file) inside the data directory. */
export const redisDir = (config: Pick<VodConfig, 'dataDir'>): string => path.join(config.dataDir, 'redis');
