/**
 * The job queue's Redis: `REDIS_URL` when set, otherwise a redis-server that `vod` starts
 * itself as a detached child process with its data under `<dataDir>/redis` (append-only file
 * on, so queued jobs survive a restart), listening on a unix socket there, and shared by
 * every `vod` process that uses the same data directory.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { redisDir, type VodConfig } from '../config.js';
import { ServiceUnavailableError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';

/** How long to wait for a redis-server we started to answer PING, ms. */
const START_TIMEOUT_MS = 10_000;
/** How long a connection attempt to an existing Redis may take, ms. */
const CONNECT_TIMEOUT_MS = 3_000;
/** A start lock older than this is left over from a crashed process, ms. */
const STALE_LOCK_MS = 20_000;
/** Unix socket paths are limited to 108 bytes on Linux (sun_path in unix(7)). */
const MAX_SOCKET_PATH = 100;

/** Where to reach Redis: a URL or a unix socket path. */
export type RedisEndpoint = { readonly url: string } | { readonly socketPath: string };

export interface RedisHandle {
  readonly endpoint: RedisEndpoint;
  /** Human description for logs and `--help`-style output. */
  readonly description: string;
  /** True when this process started the redis-server. */
  readonly startedHere: boolean;
  /** Creates a client; BullMQ workers need `maxRetriesPerRequest: null` (the default here). */
  createClient(options?: RedisOptions): Redis;
  /** Stops the redis-server if this process started it (SHUTDOWN keeps the AOF); else no-op. */
  stopIfStartedHere(): Promise<void>;
}

/** ioredis options for an endpoint. */
export function redisOptions(endpoint: RedisEndpoint, extra: RedisOptions = {}): RedisOptions & { path?: string } {
  return 'socketPath' in endpoint ? { path: endpoint.socketPath, ...extra } : { ...extra };
}

function makeClient(endpoint: RedisEndpoint, extra: RedisOptions): Redis {
  const options = { maxRetriesPerRequest: null, ...extra };
  return 'url' in endpoint ? new Redis(endpoint.url, options) : new Redis(redisOptions(endpoint, options));
}

function describe(endpoint: RedisEndpoint): string {
  if ('socketPath' in endpoint) return `redis-server on unix socket ${endpoint.socketPath}`;
  const u = new URL(endpoint.url);
  if (u.password) u.password = '***';
  return `Redis at ${u.toString()}`;
}

/**
 * Why Redis refused a write, as one sentence for the person running `vod`, when `err` is one of
 * the replies Redis gives while it is up but not accepting writes (Redis documentation:
 * "maxmemory" — OOM under the noeviction policy BullMQ needs; "Persistence" — MISCONF when it
 * cannot write its RDB or AOF file; "Replication" — READONLY on a replica).
 * @param err anything thrown by an ioredis or BullMQ call.
 * @returns the sentence (no trailing newline), or undefined for any other error.
 */
export function redisWriteRefusal(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : '';
  const reply = message.match(/^(OOM|MISCONF|READONLY)\b/)?.[1];
  if (!reply) return undefined;
  const said = redisReplyText(message);
  const what =
    reply === 'OOM'
      ? 'it has reached its maxmemory; raise maxmemory (BullMQ needs the noeviction policy, so nothing is evicted) or free memory in that Redis'
      : reply === 'MISCONF'
        ? "it cannot write its data file to disk (for the embedded Redis: <data dir>/redis, see its redis.log); free space on that disk or fix its permissions"
        : 'REDIS_URL points at a read-only replica; point it at the primary';
  return `Redis refused to store the job queue's data (${said}): ${what}`;
}

/** A Redis error reply's own words: without the ". script: <sha>, on @user_script:N." BullMQ's Lua calls add, nor the final period. */
export const redisReplyText = (message: string): string => message.split('. script:')[0]!.trim().replace(/\.$/, '');

/**
 * Error replies of a Redis that is up but not serving every command: MISCONF (it cannot write its
 * RDB or AOF file, e.g. its disk is full; PING is refused too), LOADING (reading its data file
 * after a start), BUSY (a script is running). Redis documentation, "Persistence" and
 * "SCRIPT KILL"; server.c processCommand.
 */
const UP_BUT_REFUSING = /^(MISCONF|LOADING|BUSY)\b/;

/**
 * Sends one PING with a short timeout and no retries.
 * @returns undefined when Redis answered — also with one of the replies of a server that is up
 *   but refusing commands (UP_BUT_REFUSING): starting another redis-server on its folder would
 *   put two servers on one append-only file — else the connection error message.
 */
export async function pingRedis(endpoint: RedisEndpoint, timeoutMs = CONNECT_TIMEOUT_MS): Promise<string | undefined> {
  const client = makeClient(endpoint, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis rejects connect() with a generic "Connection is closed"; the socket's own error
  // (ECONNREFUSED, ENOTFOUND, ...) arrives on the 'error' event first.
  let socketError: string | undefined;
  client.on('error', (err: Error) => {
    socketError ??= err.message;
  });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (err) {
    const message = (err as Error).message || String(err);
    if (socketError === undefined && UP_BUT_REFUSING.test(message)) return undefined;
    return (socketError ?? message).replace(/\.+$/, '');
  } finally {
    client.disconnect();
  }
}

/**
 * Connects to the configured Redis, starting the embedded redis-server when REDIS_URL is unset.
 * Long-running commands (`vod serve`, `vod worker`) then keep it up with `superviseRedis`.
 * @throws ServiceUnavailableError when REDIS_URL cannot be reached, when redis-server is not
 *         installed (naming the Debian package), or when it does not start.
 */
export async function ensureRedis(config: Pick<VodConfig, 'redisUrl' | 'dataDir'>, log: Logger = silentLogger): Promise<RedisHandle> {
  if (config.redisUrl) {
    const endpoint = { url: config.redisUrl };
    const err = await pingRedis(endpoint);
    if (err) throw new ServiceUnavailableError(`Cannot reach ${describe(endpoint)} (REDIS_URL): ${err}.`);
    return handle(endpoint, false);
  }
  const dir = redisDir(config);
  const socketPath = path.join(dir, 'redis.sock');
  if (socketPath.length > MAX_SOCKET_PATH) {
    throw new ServiceUnavailableError(`The data directory path is too long for Redis's unix socket (${socketPath}); use a shorter VOD_DATA_DIR or set REDIS_URL.`);
  }
  const endpoint = { socketPath };
  if ((await pingRedis(endpoint, 1_000)) === undefined) return handle(endpoint, false);
  const started = await startEmbeddedRedis(dir, endpoint, log);
  return handle(endpoint, started);
}

/**
 * Starts the embedded redis-server in `dir` unless another process is doing so or it already
 * answers; a start lock keeps two processes from starting two servers on one data folder.
 * @returns true when this call started it.
 * @throws ServiceUnavailableError when it cannot be started.
 */
async function startEmbeddedRedis(dir: string, endpoint: { socketPath: string }, log: Logger): Promise<boolean> {
  const socketPath = endpoint.socketPath;
  await fs.mkdir(dir, { recursive: true });
  const lockPath = path.join(dir, 'start.lock');
  const gotLock = await acquireLock(lockPath);
  if (!gotLock) {
    // Another vod process is starting it: wait for it to answer.
    if (await waitForPing(endpoint, START_TIMEOUT_MS)) return false;
    throw new ServiceUnavailableError(`Another vod process is starting redis-server in ${dir} but it did not answer within ${START_TIMEOUT_MS / 1000} s.`);
  }
  try {
    if ((await pingRedis(endpoint, 1_000)) === undefined) return false;
    await spawnRedis(dir, socketPath, log);
    if (!(await waitForPing(endpoint, START_TIMEOUT_MS))) {
      const tail = await fs.readFile(path.join(dir, 'redis.log'), 'utf8').catch(() => '');
      const last = tail.trim().split('\n').at(-1) ?? '';
      throw new ServiceUnavailableError(`redis-server did not start in ${dir}${last ? `: ${last}` : ''}.`);
    }
    log.info({ socketPath }, 'started redis-server');
    return true;
  } finally {
    await fs.rm(lockPath, { force: true });
  }
}

async function acquireLock(lockPath: string): Promise<boolean> {
  try {
    await (await fs.open(lockPath, 'wx')).close();
    return true;
  } catch {
    const st = await fs.stat(lockPath).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) {
      await fs.rm(lockPath, { force: true });
      return acquireLock(lockPath);
    }
    return false;
  }
}

function spawnRedis(dir: string, socketPath: string, log: Logger): Promise<void> {
  const args = [
    '--port', '0',
    '--unixsocket', socketPath,
    '--unixsocketperm', '700',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--save', '',
    // BullMQ requires keys never be evicted.
    '--maxmemory-policy', 'noeviction',
    '--pidfile', path.join(dir, 'redis.pid'),
    '--logfile', path.join(dir, 'redis.log'),
    '--daemonize', 'no',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { detached: true, stdio: 'ignore' });
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(new ServiceUnavailableError('redis-server is not installed: install the Debian package redis-server (apt-get install redis-server) or set REDIS_URL to a running Redis.'));
      } else {
        reject(new ServiceUnavailableError(`Could not start redis-server: ${err.message}.`));
      }
    });
    child.once('spawn', () => {
      log.debug({ pid: child.pid }, 'spawned redis-server');
      child.unref();
      resolve();
    });
  });
}

async function waitForPing(endpoint: RedisEndpoint, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await pingRedis(endpoint, 500)) === undefined) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Default time between two health checks of the embedded Redis, ms. */
export const SUPERVISE_INTERVAL_MS = 1_000;

export interface RedisSupervisor {
  /** Restarts so far. */
  readonly restarts: number;
  /** Stops watching (call before shutting Redis down on purpose). */
  stop(): void;
}

/**
 * Keeps the embedded redis-server up: every `intervalMs` it PINGs the socket and, when Redis
 * is gone (killed, crashed; not when it answers but refuses commands, as with a full disk:
 * pingRedis), starts it again on the same data folder — its append-only file
 * brings the queue back (up to the last second, appendfsync everysec) — and clients reconnect
 * by themselves (ioredis retries). Several processes may supervise one data folder: the start
 * lock lets one of them restart it. With REDIS_URL set there is nothing to supervise (that
 * Redis is someone else's); a no-op supervisor is returned.
 */
export function superviseRedis(redis: RedisHandle, config: Pick<VodConfig, 'redisUrl' | 'dataDir'>, log: Logger = silentLogger, intervalMs = SUPERVISE_INTERVAL_MS): RedisSupervisor {
  const state = { restarts: 0, stopped: false };
  const endpoint = redis.endpoint;
  if (config.redisUrl || !('socketPath' in endpoint)) return { restarts: 0, stop: () => {} };
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    if (state.stopped) return;
    if ((await pingRedis(endpoint, 500)) !== undefined && !state.stopped) {
      log.warn({ socketPath: endpoint.socketPath }, 'embedded Redis is down; restarting it');
      try {
        if (await startEmbeddedRedis(redisDir(config), endpoint, log)) state.restarts++;
      } catch (err) {
        log.error({ err: (err as Error).message }, 'could not restart the embedded Redis');
      }
    }
    if (!state.stopped) timer = setTimeout(() => void check(), intervalMs).unref();
  };
  timer = setTimeout(() => void check(), intervalMs).unref();
  return {
    get restarts() {
      return state.restarts;
    },
    stop: () => {
      state.stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

function handle(endpoint: RedisEndpoint, startedHere: boolean): RedisHandle {
  return {
    endpoint,
    description: describe(endpoint),
    startedHere,
    createClient: (options = {}) => makeClient(endpoint, options),
    stopIfStartedHere: async () => {
      if (!startedHere) return;
      await shutdownRedis(endpoint);
    },
  };
}

/** Sends SHUTDOWN (the AOF is kept) and waits until the server stops answering. */
export async function shutdownRedis(endpoint: RedisEndpoint): Promise<void> {
  const client = makeClient(endpoint, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.call('SHUTDOWN').catch(() => {});
  } catch {
    // already gone
  } finally {
    client.disconnect();
  }
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && (await pingRedis(endpoint, 300)) === undefined) {
    await new Promise((r) => setTimeout(r, 100));
  }
}
