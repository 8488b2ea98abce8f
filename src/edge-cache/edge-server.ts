/**
 * `vod edge`: a caching edge in front of the origin or of parent edges.
 *
 * Cache hits take a lean path on node:http (no express routing per request: express's
 * routing cost most of the throughput on small objects, see the edge benchmark); everything
 * else — catalog, /metrics, /healthz, shaping, QoE, admin and the player page — goes through
 * the express control app (control/control-app.ts).
 *
 * A request for /vod/... (optionally behind a signed-URL token, /s/<token>/vod/...) is
 * answered from the memory tier, else the disk tier, else by a fill from the upstreams
 * (parents in order, then the origin; circuit breakers; fail-over). Concurrent misses for one
 * object share one fill, whose bytes stream to every waiting client as they arrive (request
 * coalescing / collapsed forwarding, fill-coalescer.ts). When every upstream fails, an expired
 * copy is served within its stale-if-error window (RFC 5861 §4), else 502/504.
 *
 * Time comes from one injectable clock (`nowMs`), used by token expiry, the tiers' expiry,
 * stale-if-error, the breakers and shaping, so tests advance time instead of sleeping.
 */
import type http from 'node:http';
import os from 'node:os';
import type express from 'express';
import { pino } from 'pino';
import { vodKeyFromPath } from '../http/http-object.js';
import { listen, type RunningServer } from '../http/listen.js';
import { originFormTarget } from '../http/request-target.js';
import { sendJsonError } from '../http/object-response.js';
import { titleIdOfPath, titlePathPrefix, VOD_PATH_PREFIX } from '../title/title-address.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import type { CircuitBreakerOptions } from './circuit-breaker.js';
import { createControlApp } from './control/control-app.js';
import { DiskTier } from './disk-tier.js';
import { EdgeMetrics } from './edge-metrics.js';
import { EdgeResponder, type CacheOutcome } from './edge-responses.js';
import { FillCoalescer } from './fill-coalescer.js';
import { withinStaleIfError } from './freshness.js';
import { createMemoryTier, LRU_CACHE_TIER, type CacheTier, type EdgePolicyName } from './memory-tier.js';
import { QoeAggregator } from './qoe.js';
import { sessionFromCookie, ShapingSessions } from './shaping.js';
import { UpstreamPool } from './upstream-pool.js';
import { normalizeIp, TOKEN_PREFIX, verifySignedPath } from '../http/url-signing.js';

/** Longest request target accepted; longer ones get 414 (RFC 9110 §15.5.15). */
export const MAX_URL_BYTES = 4096;
/** Largest request header section accepted by node:http; larger get 431 (RFC 6585 §5). */
export const MAX_HEADER_BYTES = 16 * 1024;

export interface EdgeServerOptions {
  /** Base URL of the origin, filled from after the parents. */
  readonly originUrl?: string;
  /** Parent edges, tried in order before the origin. */
  readonly parentUrls?: readonly string[];
  /** Memory tier capacity in bytes. */
  readonly cacheBytes: number;
  /**
   * Eviction policy of the memory tier: 'lru-cache' (default, the lru-cache package) or an
   * online policy of the registry (policy-registry.ts: lru, fifo, lfu, arc, s3fifo, sieve, w-tinylfu,
   * w-tinylfu-caffeine, gdsf), the
   * same code `vod bench hit-ratio` simulates.
   */
  readonly policy?: EdgePolicyName;
  /** Disk tier folder; none when absent. */
  readonly diskCacheDir?: string;
  /** Disk tier capacity in bytes (required with diskCacheDir). */
  readonly diskBytes?: number;
  /** Upstream timeout for headers and for each gap in the body, ms. Default 15000. */
  readonly fillTimeoutMs?: number;
  /** Circuit-breaker settings per upstream (their clock is `nowMs`). */
  readonly breaker?: Omit<CircuitBreakerOptions, 'nowMs'>;
  /** HMAC key of signed URLs; tokens are checked when set. */
  readonly signingKey?: string;
  /** Refuse unsigned /vod/ requests (403). Needs signingKey. Default false. */
  readonly requireSignature?: boolean;
  /** Bearer token for /admin routes; without one, only loopback clients may use them. */
  readonly adminToken?: string;
  /** Name in Via headers and metrics. Default `<hostname>:<port>` once listening. */
  readonly name?: string;
  /**
   * File to append an access log to: one JSON object per /vod/ request, `{"time": s since the
   * epoch, "path", "bytes": object size, "status", "cache"}` — the format
   * `vod bench hit-ratio --trace FILE.jsonl` replays. Written asynchronously (pino's sonic-boom).
   */
  readonly accessLogPath?: string;
  /** Folder of throughput traces for shaping (config `netTracesDir`); none = fixed rates only. */
  readonly netTracesDir?: string;
  /** Folder of the player page (config `playerDir`); none = no /player/ routes. */
  readonly playerDir?: string;
  readonly log?: Logger;
  /** The edge's clock, ms since the epoch. Default Date.now. */
  readonly nowMs?: () => number;
}

export class EdgeServer {
  readonly metrics: EdgeMetrics;
  readonly memory: CacheTier;
  readonly disk: DiskTier | undefined;
  readonly upstreams: UpstreamPool;
  readonly fills: FillCoalescer;
  readonly shaping: ShapingSessions;
  readonly qoe: QoeAggregator;
  /** Requests per title since start, for prefill by history. */
  readonly titleRequests = new Map<string, number>();
  name: string;
  private readonly log: Logger;
  private readonly app: express.Express;
  private readonly responder: EdgeResponder;
  private readonly accessLog: ReturnType<typeof pino.destination> | undefined;
  private readonly options: EdgeServerOptions;
  private readonly nowMs: () => number;
  /** Unexpected errors on the hit path: one rate-limited line each. */
  private readonly errors: RateLimitedLog;

  /** @throws TypeError for bad upstream URLs; RangeError for bad sizes or policies. */
  constructor(options: EdgeServerOptions) {
    this.options = options;
    const nowMs = (this.nowMs = options.nowMs ?? Date.now);
    this.name = options.name ?? os.hostname();
    this.log = options.log ?? silentLogger;
    this.errors = new RateLimitedLog(this.log);
    this.memory = createMemoryTier(options.policy ?? LRU_CACHE_TIER, options.cacheBytes, { nowMs, onEvict: () => this.metrics.evictions.inc() });
    if (options.diskCacheDir) {
      if (!options.diskBytes) throw new RangeError('a disk cache needs a size (--disk-bytes)');
      this.disk = new DiskTier(options.diskCacheDir, options.diskBytes, nowMs);
    }
    if (options.requireSignature && !options.signingKey) throw new RangeError('--require-signature needs a signing key');
    const viaName = () => this.name;
    this.upstreams = new UpstreamPool([...(options.parentUrls ?? []), ...(options.originUrl ? [options.originUrl] : [])], {
      fillTimeoutMs: options.fillTimeoutMs ?? 15_000,
      viaName,
      breaker: { ...options.breaker, nowMs },
    });
    this.metrics = new EdgeMetrics({
      cacheSize: () => this.memory.size(),
      diskSize: () => this.disk?.size() ?? { bytes: 0, objects: 0 },
      breakers: () => this.upstreams.states(),
    });
    this.fills = new FillCoalescer({ upstreams: this.upstreams, memory: this.memory, disk: this.disk, metrics: this.metrics, nowMs, viaName, log: this.log });
    this.shaping = new ShapingSessions(options.netTracesDir, nowMs);
    this.qoe = new QoeAggregator(this.metrics.registry);
    this.responder = new EdgeResponder({ metrics: this.metrics, shaping: this.shaping, nowMs, viaName });
    this.app = createControlApp(this, { adminToken: options.adminToken, playerDir: options.playerDir, log: this.log });
    this.accessLog = options.accessLogPath ? pino.destination({ dest: options.accessLogPath, append: true, mkdir: true, sync: false }) : undefined;
  }

  /** Opens the disk tier (rebuilding its index). Call before serving. */
  async open(): Promise<void> {
    if (this.disk) {
      const { objects, bytes } = await this.disk.open();
      this.log.info({ objects, bytes, dir: this.disk.dir }, 'disk cache opened');
    }
  }

  /** Flushes the access log and closes upstream connections. */
  async close(): Promise<void> {
    this.upstreams.close();
    await this.disk?.close();
    const log = this.accessLog;
    if (log) await new Promise<void>((resolve) => { log.once('close', () => resolve()); log.end(); });
  }

  /** The node:http request listener: lean path for /vod/ GET and HEAD, the control app for the rest. */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const target = req.url ?? '/';
    if (target.length > MAX_URL_BYTES) {
      sendJsonError(res, 414, 'URI too long');
      return;
    }
    const url = originFormTarget(target);
    if (url === undefined) {
      sendJsonError(res, 400, 'The request target is not a path or an http(s) URL.');
      return;
    }
    req.url = url;
    if ((req.method === 'GET' || req.method === 'HEAD') && (url.startsWith(VOD_PATH_PREFIX) || url.startsWith(TOKEN_PREFIX))) {
      this.serveVod(req, res, url).catch((err: unknown) => {
        this.errors.warn({ err: String(err), url: url.slice(0, 200) }, 'edge error');
        if (!res.headersSent) sendJsonError(res, 500, 'internal error');
        else res.destroy();
      });
      return;
    }
    this.app(req, res);
  };

  /** The hit path: token check, memory, disk, then a fill; stale-if-error when every upstream fails. */
  private async serveVod(req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<void> {
    const q = url.indexOf('?');
    let pathname = q >= 0 ? url.slice(0, q) : url;
    const query = q >= 0 ? url.slice(q) : '';
    if (pathname.startsWith(TOKEN_PREFIX)) {
      if (!this.options.signingKey) {
        sendJsonError(res, 404, 'signed URLs are not enabled on this edge');
        return;
      }
      const check = verifySignedPath(pathname, this.options.signingKey, this.nowMs() / 1000, normalizeIp(req.socket.remoteAddress));
      if (!check.ok) {
        this.metrics.forbidden.inc();
        sendJsonError(res, 403, check.reason);
        return;
      }
      pathname = check.path;
    } else if (this.options.requireSignature) {
      this.metrics.forbidden.inc();
      sendJsonError(res, 403, 'a signed URL is required');
      return;
    }
    // The cache key is the normalised path alone (cacheKeyOf): tokens and query strings never
    // split entries, nor do percent-encoded spellings of one path. Only normalised keys are ever
    // stored, so a path found as it is needs no normalising or validation (the lean hit path);
    // any other is normalised and validated before it is looked up again, on disk or upstream.
    const sessionId = req.headers.cookie ? sessionFromCookie(req.headers.cookie) : undefined;
    const shaped = sessionId ? this.shaping.get(sessionId) : undefined;
    let key = pathname;
    let cached = this.memory.get(key);
    if (!cached) {
      const resolved = cacheKeyOf(pathname);
      if (!resolved.ok) {
        sendJsonError(res, resolved.status, resolved.reason);
        return;
      }
      if (resolved.key !== key) {
        key = resolved.key;
        cached = this.memory.get(key);
      }
    }
    this.countTitle(key);
    if (cached) {
      this.metrics.hit();
      this.responder.sendObject(req, res, cached, 'HIT', undefined, shaped);
      this.logAccess(key, cached.body.length, res.statusCode, 'HIT');
      return;
    }
    const fromDisk = await this.fromDisk(key);
    if (fromDisk) {
      this.metrics.hit();
      this.metrics.diskHits.inc();
      this.responder.sendObject(req, res, fromDisk, 'HIT', undefined, shaped);
      this.logAccess(key, fromDisk.body.length, res.statusCode, 'HIT');
      return;
    }
    this.metrics.miss();
    const outcome = await this.fills.fill(key, key + query);
    if (outcome.kind === 'fill') {
      this.responder.sendFill(req, res, outcome.fill, shaped);
      this.logAccess(key, outcome.fill.upstream.headers.contentLength ?? 0, res.statusCode, 'MISS');
      return;
    }
    if (outcome.status >= 500) {
      const stale = this.memory.getStale(key);
      if (stale && withinStaleIfError(stale, this.nowMs())) {
        this.metrics.staleServed.inc();
        this.responder.sendObject(req, res, stale, 'STALE', undefined, shaped);
        this.logAccess(key, stale.body.length, res.statusCode, 'STALE');
        return;
      }
    }
    res.setHeader('X-Cache', 'MISS');
    sendJsonError(res, outcome.status, outcome.reason);
    this.logAccess(key, 0, outcome.status, 'MISS');
  }

  /** An object from the disk tier, promoted to memory for the rest of its freshness; undefined when not there. */
  private async fromDisk(key: string) {
    if (!this.disk?.has(key)) return undefined;
    const object = await this.disk.get(key);
    if (object) this.memory.set(key, object, Math.max(1, (object.expiresAtMs - this.nowMs()) / 1000));
    return object;
  }

  private countTitle(key: string): void {
    const title = titleIdOfPath(key);
    if (title !== undefined) this.titleRequests.set(title, (this.titleRequests.get(title) ?? 0) + 1);
  }

  private logAccess(key: string, bytes: number, status: number, cache: CacheOutcome): void {
    this.accessLog?.write(`{"time":${this.nowMs() / 1000},"path":${JSON.stringify(key)},"bytes":${bytes},"status":${status},"cache":"${cache}"}\n`);
  }

  /**
   * Makes sure one path is cached (memory, disk or a new fill) without counting a viewer request.
   * @returns the object's bytes, or undefined when it cannot be had.
   */
  async fillPath(pathname: string): Promise<Buffer | undefined> {
    const resolved = cacheKeyOf(pathname);
    if (!resolved.ok) return undefined;
    const key = resolved.key;
    const cached = this.memory.getStale(key);
    if (cached && this.memory.get(key)) return cached.body;
    const fromDisk = await this.fromDisk(key);
    if (fromDisk) return fromDisk.body;
    const outcome = await this.fills.fill(key, key);
    if (outcome.kind !== 'fill') return undefined;
    return (await outcome.fill.stored)?.body;
  }

  /**
   * Removes objects from both tiers: one path, or every object of a title.
   * @returns how many keys were removed.
   */
  purge(target: { path?: string; titleId?: string }): number {
    const keys = new Set<string>();
    if (target.path) {
      const resolved = cacheKeyOf(target.path);
      keys.add(resolved.ok ? resolved.key : target.path);
    }
    if (target.titleId) {
      const prefix = titlePathPrefix(target.titleId);
      for (const k of this.memory.keysWithPrefix(prefix)) keys.add(k);
      for (const k of this.disk?.keysWithPrefix(prefix) ?? []) keys.add(k);
    }
    let removed = 0;
    for (const k of keys) {
      const a = this.memory.delete(k);
      const b = this.disk?.delete(k) ?? false;
      if (a || b) removed++;
    }
    this.metrics.purged.inc(removed);
    return removed;
  }
}

/**
 * The edge's cache key of a request path: the URL path of its store key (`/vod/<titleId>/...`),
 * each segment percent-decoded — RFC 3986 §6.2.2.2 normalisation, complete here because store
 * names only hold unreserved characters — so every spelling of one object is one entry, one
 * fill and one purge. Encoded '/', dot-segments and anything that is not a store key are
 * refused (http-object.ts vodKeyFromPath), never normalised into another path.
 */
export function cacheKeyOf(pathname: string): { readonly ok: true; readonly key: string } | { readonly ok: false; readonly status: 400 | 404; readonly reason: string } {
  const resolved = vodKeyFromPath(pathname);
  return resolved.ok ? { ok: true, key: `/${resolved.key}` } : resolved;
}

/** Starts `vod edge` on host:port (0 = a free port). */
export async function startEdgeServer(options: EdgeServerOptions & { host: string; port: number }): Promise<RunningServer & { edge: EdgeServer }> {
  const edge = new EdgeServer(options);
  await edge.open();
  const running = await listen(edge.handle, options.host, options.port, { maxHeaderSize: MAX_HEADER_BYTES });
  if (!options.name) edge.name = `${os.hostname()}:${new URL(running.url).port}`;
  return {
    ...running,
    edge,
    close: async () => {
      await running.close();
      await edge.close();
    },
  };
}
