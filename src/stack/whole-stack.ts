/**
 * The composition root: "the whole stack" on one machine — Redis (the embedded redis-server
 * unless `REDIS_URL` is set), the encode queue, a worker, the origin and an edge in front of
 * it — wired in one place for `vod serve` / `vod demo`, the tests and the benchmarks. Parts
 * start one at a time (tests start only what they need) and stop in reverse order.
 */
import type { VodConfig } from '../config.js';
import { startEdgeServer, type EdgeServer } from '../edge-cache/edge-server.js';
import type { EdgePolicyName } from '../edge-cache/memory-tier.js';
import type { FfmpegPaths } from '../encoder/ffmpeg.js';
import type { RunningServer } from '../http/listen.js';
import { EncodeQueue } from '../ingest/encode-queue.js';
import { startEncodeWorker, stopEncodeWorker } from '../ingest/encode-worker.js';
import { ensureRedis, superviseRedis, type RedisHandle, type RedisSupervisor } from '../ingest/redis-server.js';
import type { ObjectStore } from '../origin/object-store.js';
import { startOriginServer } from '../origin/origin-server.js';
import { startKeyServer } from '../keys/key-server.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';

/** What every part is built from: configuration, the object store, ffmpeg, a logger. */
export interface StackParts {
  readonly config: VodConfig;
  readonly store: ObjectStore;
  readonly paths: FfmpegPaths;
  readonly log?: Logger;
}

export interface WorkerSettings {
  /** Encode jobs run at once. Default 1 (x264 already uses every core). */
  readonly concurrency?: number;
}

export interface OriginSettings {
  /** TCP port; 0 = a free one. Default `config.originPort`. */
  readonly port?: number;
}

export interface EdgeSettings {
  /** Memory tier size, bytes. */
  readonly cacheBytes: number;
  /** Memory tier policy. Default lru-cache. */
  readonly policy?: EdgePolicyName;
  /** TCP port; 0 = a free one. Default `config.edgePort`. */
  readonly port?: number;
}

/** A running encode worker (BullMQ's, behind the ingest module). */
export type EncodeWorker = Awaited<ReturnType<typeof startEncodeWorker>>;

export class WholeStack {
  worker: EncodeWorker | undefined;
  origin: RunningServer | undefined;
  edge: (RunningServer & { edge: EdgeServer }) | undefined;
  /** The key server of encrypted titles, when started (startKeyServer). */
  keys: RunningServer | undefined;
  private readonly log: Logger;

  private constructor(
    readonly parts: StackParts,
    readonly redis: RedisHandle,
    readonly queue: EncodeQueue,
    readonly queueName: string | undefined,
    /** Restarts the embedded Redis if it dies (no-op with REDIS_URL). */
    readonly redisSupervisor: RedisSupervisor,
  ) {
    this.log = parts.log ?? silentLogger;
  }

  /**
   * Connects to Redis (starting the embedded redis-server when `REDIS_URL` is unset, and
   * restarting it whenever it dies) and opens the encode queue; nothing else runs yet.
   * @param queueName queue name; default the production one (tests pass a random one).
   * @throws UserError when Redis cannot be reached or started.
   */
  static async open(parts: StackParts, options: { queueName?: string } = {}): Promise<WholeStack> {
    const redis = await ensureRedis(parts.config, parts.log);
    const supervisor = superviseRedis(redis, parts.config, parts.log);
    const queueName = options.queueName ?? parts.config.queueName;
    return new WholeStack(parts, redis, new EncodeQueue(redis, parts.config, queueName, parts.log), queueName, supervisor);
  }

  /** Starts an encode worker on this stack's queue. */
  async startWorker(settings: WorkerSettings = {}): Promise<EncodeWorker> {
    const { config, store, paths } = this.parts;
    this.worker = await startEncodeWorker({
      redis: this.redis,
      config,
      store,
      paths,
      log: this.log,
      ...(settings.concurrency ? { concurrency: settings.concurrency } : {}),
      ...(this.queueName ? { queueName: this.queueName } : {}),
    });
    return this.worker;
  }

  /** Starts the origin on `config.host`. @throws Error "port … is already in use". */
  async startOrigin(settings: OriginSettings = {}): Promise<RunningServer> {
    this.origin = await startOriginServer({ store: this.parts.store, log: this.log, host: this.parts.config.host, port: settings.port ?? this.parts.config.originPort });
    return this.origin;
  }

  /**
   * Starts an edge filling from this stack's origin, serving the player page and shaping with
   * the configured traces. @throws Error when the origin is not started, or the port is taken.
   */
  async startEdge(settings: EdgeSettings): Promise<RunningServer & { edge: EdgeServer }> {
    if (!this.origin) throw new Error('start the origin before the edge');
    const { config } = this.parts;
    this.edge = await startEdgeServer({
      originUrl: this.origin.url,
      cacheBytes: settings.cacheBytes,
      ...(settings.policy ? { policy: settings.policy } : {}),
      playerDir: config.playerDir,
      netTracesDir: config.netTracesDir,
      ...(config.signingKey ? { signingKey: config.signingKey } : {}),
      log: this.log,
      host: config.host,
      port: settings.port ?? config.edgePort,
    });
    return this.edge;
  }

  /**
   * Starts the key server of encrypted titles (`vod keys`) on `config.host`.
   * @throws RangeError without `config.signingKey`; Error "port … is already in use".
   */
  async startKeyServer(settings: { port?: number } = {}): Promise<RunningServer> {
    const { config, store } = this.parts;
    this.keys = await startKeyServer({ store, signingKey: config.signingKey ?? '', log: this.log, host: config.host, port: settings.port ?? config.keyPort });
    return this.keys;
  }

  /**
   * Stops what runs, in reverse order: worker (running encodes are cancelled and retried
   * later), edge, origin, queue, and the redis-server if this process started it (its
   * append-only file keeps the queue).
   * @param options.obliterateQueue also delete the queue's jobs (tests).
   */
  async stop(options: { obliterateQueue?: boolean } = {}): Promise<void> {
    const quietly = (p: Promise<unknown> | undefined) => p?.catch((err: unknown) => this.log.warn({ err: String(err) }, 'stopping the stack'));
    if (this.worker) await quietly(stopEncodeWorker(this.worker));
    await quietly(this.keys?.close());
    await quietly(this.edge?.close());
    await quietly(this.origin?.close());
    if (options.obliterateQueue) await quietly(this.queue.obliterate());
    await quietly(this.queue.close());
    this.redisSupervisor.stop(); // before the shutdown, or it would start Redis again
    await quietly(this.redis.stopIfStartedHere());
  }
}

/**
 * Starts everything: Redis and the queue, a worker, the origin and an edge, and the key server
 * of encrypted titles when a signing key is configured. On any failure
 * what already started is stopped before the error is thrown.
 */
export async function startWholeStack(parts: StackParts, settings: { worker?: WorkerSettings; origin?: OriginSettings; edge: EdgeSettings; queueName?: string }): Promise<WholeStack> {
  const stack = await WholeStack.open(parts, settings.queueName ? { queueName: settings.queueName } : {});
  try {
    await stack.startWorker(settings.worker);
    await stack.startOrigin(settings.origin);
    await stack.startEdge(settings.edge);
    if (parts.config.signingKey) await stack.startKeyServer();
    return stack;
  } catch (err) {
    await stack.stop();
    throw err;
  }
}
