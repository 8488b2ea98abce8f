/**
 * `vod edge`: a caching edge in front of the origin or of parent edges.
 *
 * Cache hits take a lean path on node:http (no express routing per request: express's
 * routing cost most of the throughput on small objects, see the edge benchmark); everything
 * else — catalog, /metrics, /healthz, admin and the player page — goes through express.
 *
 * A request for /vod/... (optionally behind a signed-URL token, /s/<token>/vod/...) is
 * answered from the memory tier, else the disk tier, else by a fill from the upstreams
 * (parents in order, then the origin; circuit breakers; fail-over). Concurrent misses for one
 * object share one fill, whose bytes stream to every waiting client as they arrive (request
 * coalescing / collapsed forwarding). When every upstream fails, an expired copy is served
 * within its stale-if-error window (RFC 5861 §4), else 502/504.
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import express from 'express';
import { pino } from 'pino';
import { PROJECT_ROOT } from '../config.js';
import { corsMiddleware, CORS_EXPOSED_HEADERS, listen, type RunningServer } from '../origin/origin-server.js';
import { contentTypeFor, resolveRange, vodKeyFromPath } from '../origin/http-object.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import type { CircuitBreakerOptions } from './circuit-breaker.js';
import { DiskTier } from './disk-tier.js';
import { EdgeMetrics } from './edge-metrics.js';
import { freshnessLifetimeS, MemoryTier, PolicyMemoryTier, type CacheTier, type CachedObject } from './memory-tier.js';
import { UpstreamPool, type StreamingFill } from './upstream-pool.js';
import { normalizeIp, TOKEN_PREFIX, verifySignedPath } from './url-signing.js';
import { prefillTitles } from './prefill.js';
import { QoeAggregator, qoeBeaconSchema } from './qoe.js';
import { parseRateBps, RateProfile, sessionFromCookie, ShapingSessions, type ShapedSession } from './shaping.js';

const require = createRequire(import.meta.url);

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
   * Eviction policy of the memory tier: 'lru-cache' (default, the lru-cache package) or a
   * policy of the registry (lru, fifo, lfu, arc, s3fifo, sieve, w-tinylfu, gdsf), the same
   * code `vod bench hit-ratio` simulates.
   */
  readonly policy?: string;
  /** Disk tier folder; none when absent. */
  readonly diskCacheDir?: string;
  /** Disk tier capacity in bytes (required with diskCacheDir). */
  readonly diskBytes?: number;
  /** Upstream timeout for headers and for each gap in the body, ms. Default 15000. */
  readonly fillTimeoutMs?: number;
  readonly breaker?: CircuitBreakerOptions;
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
  /** Folder of throughput traces for shaping; default `<project>/../shared/traces/net`. */
  readonly netTracesDir?: string;
  /** Folder of the player page; default `<project>/player-demo`. */
  readonly playerDir?: string;
  readonly log?: Logger;
  /** Clock for token expiry, ms. Default Date.now. */
  readonly nowMs?: () => number;
}

type CacheOutcome = 'HIT' | 'MISS' | 'STALE';

export class EdgeServer {
  readonly metrics: EdgeMetrics;
  readonly memory: CacheTier;
  readonly disk: DiskTier | undefined;
  readonly upstreams: UpstreamPool;
  name: string;
  private readonly log: Logger;
  private readonly inFlight = new Map<string, Promise<FillOutcome>>();
  private readonly app: express.Express;
  private readonly accessLog: ReturnType<typeof pino.destination> | undefined;
  private readonly options: EdgeServerOptions;
  private readonly nowMs: () => number;
  /** Requests per title since start, for prefill by history. */
  readonly titleRequests = new Map<string, number>();
  readonly shaping: ShapingSessions;
  readonly qoe: QoeAggregator;

  /** @throws TypeError for bad upstream URLs; RangeError for bad sizes or policies. */
  constructor(options: EdgeServerOptions) {
    this.options = options;
    this.nowMs = options.nowMs ?? Date.now;
    this.name = options.name ?? os.hostname();
    this.log = options.log ?? silentLogger;
    const onEvict = () => this.metrics.evictions.inc();
    this.memory =
      !options.policy || options.policy === 'lru-cache'
        ? new MemoryTier(options.cacheBytes, onEvict)
        : new PolicyMemoryTier(options.policy, options.cacheBytes, Date.now, onEvict);
    if (options.diskCacheDir) {
      if (!options.diskBytes) throw new RangeError('a disk cache needs a size (--disk-bytes)');
      this.disk = new DiskTier(options.diskCacheDir, options.diskBytes);
    }
    if (options.requireSignature && !options.signingKey) throw new RangeError('--require-signature needs a signing key');
    this.upstreams = new UpstreamPool([...(options.parentUrls ?? []), ...(options.originUrl ? [options.originUrl] : [])], {
      fillTimeoutMs: options.fillTimeoutMs ?? 15_000,
      viaName: () => this.name,
      ...(options.breaker ? { breaker: options.breaker } : {}),
    });
    this.metrics = new EdgeMetrics({
      cacheSize: () => this.memory.size(),
      diskSize: () => this.disk?.size() ?? { bytes: 0, objects: 0 },
      breakers: () => this.upstreams.states(),
    });
    this.shaping = new ShapingSessions(options.netTracesDir ?? path.join(PROJECT_ROOT, '..', 'shared', 'traces', 'net'));
    this.qoe = new QoeAggregator(this.metrics.registry);
    this.app = this.createControlApp(options.playerDir ?? path.join(PROJECT_ROOT, 'player-demo'));
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

  /** The node:http request listener: lean path for /vod/ GET and HEAD, express for the rest. */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? '/';
    if (url.length > MAX_URL_BYTES) {
      sendStatus(res, 414, 'URI too long');
      return;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && (url.startsWith('/vod/') || url.startsWith(TOKEN_PREFIX))) {
      this.serveVod(req, res, url).catch((err: unknown) => {
        this.log.error({ err: String(err), url }, 'edge error');
        if (!res.headersSent) sendStatus(res, 500, 'internal error');
        else res.destroy();
      });
      return;
    }
    this.app(req, res);
  };

  private async serveVod(req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<void> {
    const q = url.indexOf('?');
    let pathname = q >= 0 ? url.slice(0, q) : url;
    const query = q >= 0 ? url.slice(q) : '';
    if (pathname.startsWith(TOKEN_PREFIX)) {
      if (!this.options.signingKey) {
        sendStatus(res, 404, 'signed URLs are not enabled on this edge');
        return;
      }
      const check = verifySignedPath(pathname, this.options.signingKey, this.nowMs() / 1000, normalizeIp(req.socket.remoteAddress));
      if (!check.ok) {
        this.metrics.forbidden.inc();
        sendStatus(res, 403, check.reason);
        return;
      }
      pathname = check.path;
    } else if (this.options.requireSignature) {
      this.metrics.forbidden.inc();
      sendStatus(res, 403, 'a signed URL is required');
      return;
    }
    // The cache key is the path alone: tokens and query strings never split entries. Only
    // validated paths are ever stored, so a hit needs no validation; a miss is validated
    // before anything is looked up on disk or upstream.
    const key = pathname;
    this.countTitle(key);
    const sessionId = req.headers.cookie ? sessionFromCookie(req.headers.cookie) : undefined;
    const shaped = sessionId ? this.shaping.get(sessionId) : undefined;

    const cached = this.memory.get(key);
    if (cached) {
      this.metrics.hit();
      this.sendObject(req, res, cached, 'HIT', undefined, shaped);
      this.logAccess(key, cached.body.length, res.statusCode, 'HIT');
      return;
    }
    const resolved = vodKeyFromPath(pathname);
    if (!resolved.ok) {
      sendStatus(res, resolved.status, resolved.reason);
      return;
    }
    if (this.disk?.has(key)) {
      const fromDisk = await this.disk.get(key);
      if (fromDisk) {
        this.metrics.hit();
        this.metrics.diskHits.inc();
        this.memory.set(key, fromDisk, Math.max(1, (fromDisk.expiresAtMs - this.nowMs()) / 1000));
        this.sendObject(req, res, fromDisk, 'HIT', undefined, shaped);
        this.logAccess(key, fromDisk.body.length, res.statusCode, 'HIT');
        return;
      }
    }
    this.metrics.miss();
    const outcome = await this.fill(key, pathname + query);
    if (outcome.kind === 'fill') {
      this.sendFill(req, res, outcome.fill, shaped);
      this.logAccess(key, outcome.fill.headers.contentLength ?? 0, res.statusCode, 'MISS');
      return;
    }
    if (outcome.status >= 500) {
      const stale = this.memory.getStale(key);
      if (stale && withinStaleIfError(stale, this.nowMs())) {
        this.metrics.staleServed.inc();
        this.sendObject(req, res, stale, 'STALE', undefined, shaped);
        this.logAccess(key, stale.body.length, res.statusCode, 'STALE');
        return;
      }
    }
    res.setHeader('X-Cache', 'MISS');
    sendStatus(res, outcome.status, outcome.reason);
    this.logAccess(key, 0, outcome.status, 'MISS');
  }

  private countTitle(key: string): void {
    // key is /vod/<title>/...: slice, no split, on the hot path.
    const end = key.indexOf('/', 5);
    if (end > 5) {
      const title = key.slice(5, end);
      this.titleRequests.set(title, (this.titleRequests.get(title) ?? 0) + 1);
    }
  }

  /**
   * Starts or joins the fill of `key` (one upstream fetch however many requests wait).
   * @param upstreamPath path and query sent upstream (the query reaches the origin; the token does not).
   */
  fill(key: string, upstreamPath: string): Promise<FillOutcome> {
    const pending = this.inFlight.get(key);
    if (pending) {
      this.metrics.coalesced.inc();
      return pending.then((o) => {
        // A coalesced request is one more access for the tier's policy (the simulator sees it too).
        if (o.kind === 'fill') o.fill.whenStored(() => this.memory.get(key));
        return o;
      });
    }
    const started = performance.now();
    const promise = this.upstreams.fetch(upstreamPath).then((answer): FillOutcome => {
      if (answer.kind === 'status') {
        this.inFlight.delete(key);
        if (answer.status >= 500) this.log.warn({ key, reason: answer.reason }, 'fill failed');
        return answer;
      }
      const fill = answer.fill;
      const finish = () => {
        this.inFlight.delete(key);
      };
      fill.settled(
        () => {
          finish();
          const body = fill.body();
          this.metrics.filled(body.length);
          this.metrics.fillSeconds.observe((performance.now() - started) / 1000);
          const object: CachedObject = {
            body,
            contentType: fill.headers.contentType ?? contentTypeFor(key),
            etag: fill.headers.etag,
            lastModified: fill.headers.lastModified,
            cacheControl: fill.headers.cacheControl,
            storedAtMs: this.nowMs(),
            via: `${fill.headers.via ? `${fill.headers.via}, ` : ''}1.1 ${this.name}`,
          };
          const ttlS = freshnessLifetimeS(object.cacheControl);
          this.memory.set(key, object, ttlS);
          if (this.disk && ttlS > 0) {
            this.disk.set(key, object, this.nowMs() + ttlS * 1000).catch((err: unknown) => this.log.warn({ key, err: String(err) }, 'disk write failed'));
          }
          fill.object = object;
          fill.emit('stored');
        },
        (err) => {
          finish();
          this.log.warn({ key, err: err.message }, 'fill broke off');
        },
      );
      return { kind: 'fill', fill };
    });
    this.inFlight.set(key, promise);
    return promise;
  }

  /** Answers a request from a fill: streams as bytes arrive, or waits for the whole body when a range or validator needs it. */
  private sendFill(req: http.IncomingMessage, res: http.ServerResponse, fill: StreamingFill, shaped?: ShapedSession): void {
    const needsWhole = req.headers.range !== undefined || req.headers['if-none-match'] !== undefined || shaped !== undefined;
    if (fill.done || needsWhole) {
      fill.settled(
        () => fill.whenStored(() => this.sendObject(req, res, fill.object!, 'MISS', fill, shaped)),
        () => sendStatus(res, 502, 'upstream broke off'),
      );
      return;
    }
    const h = fill.headers;
    res.statusCode = 200;
    res.setHeader('Content-Type', h.contentType ?? 'application/octet-stream');
    res.setHeader('Cache-Control', h.cacheControl);
    if (h.etag) res.setHeader('ETag', h.etag);
    if (h.lastModified) res.setHeader('Last-Modified', h.lastModified);
    if (h.contentLength !== undefined) res.setHeader('Content-Length', h.contentLength);
    res.setHeader('Accept-Ranges', 'bytes');
    this.setCommonHeaders(res, 'MISS', `${h.via ? `${h.via}, ` : ''}1.1 ${this.name}`, fill);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    for (const c of fill.chunks) res.write(c);
    let sent = fill.bytes;
    const onData = (c: Buffer) => {
      sent += c.length;
      res.write(c);
    };
    fill.on('data', onData);
    res.once('close', () => fill.off('data', onData));
    fill.settled(
      () => {
        fill.off('data', onData);
        this.metrics.served(sent);
        res.end();
      },
      () => {
        fill.off('data', onData);
        res.destroy();
      },
    );
  }

  private setCommonHeaders(res: http.ServerResponse, cache: CacheOutcome, via: string | undefined, fill?: StreamingFill): void {
    res.setHeader('X-Cache', cache);
    if (via) res.setHeader('Via', via);
    if (fill) res.setHeader('X-Cache-Fill', `${fill.source.name} ${fill.headers.upstreamCache ?? 'ORIGIN'}`);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);
  }

  /** Answers from a whole object: conditional GET, one byte range, HEAD; counts bytes served. */
  private sendObject(req: http.IncomingMessage, res: http.ServerResponse, object: CachedObject, cache: CacheOutcome, fill?: StreamingFill, shaped?: ShapedSession): void {
    const size = object.body.length;
    res.setHeader('Content-Type', object.contentType);
    // A shaped session must not be answered from the browser's cache at memory speed.
    res.setHeader('Cache-Control', shaped ? 'no-store' : object.cacheControl);
    if (shaped) res.setHeader('X-Shaped-Rate', String(Math.round(this.shaping.currentRateBps(shaped))));
    if (object.etag) res.setHeader('ETag', object.etag);
    if (object.lastModified) res.setHeader('Last-Modified', object.lastModified);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Age', String(Math.max(0, Math.floor((this.nowMs() - object.storedAtMs) / 1000))));
    this.setCommonHeaders(res, cache, object.via ?? `1.1 ${this.name}`, fill);

    const inm = req.headers['if-none-match'];
    if (inm && object.etag && inm.split(',').some((t) => t.trim() === object.etag || t.trim() === '*')) {
      res.statusCode = 304;
      res.end();
      return;
    }
    const range = resolveRange(req.headers.range, size);
    if (range.kind === 'unsatisfiable') {
      res.statusCode = 416;
      res.setHeader('Content-Range', `bytes */${size}`);
      res.end();
      return;
    }
    let body = object.body;
    if (range.kind === 'partial') {
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      body = object.body.subarray(range.start, range.end + 1);
    } else {
      res.statusCode = 200;
    }
    res.setHeader('Content-Length', body.length);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    this.metrics.served(body.length, cache !== 'MISS');
    if (shaped) this.shaping.send(shaped, res, body);
    else res.end(body);
  }

  private logAccess(key: string, bytes: number, status: number, cache: CacheOutcome): void {
    this.accessLog?.write(`{"time":${this.nowMs() / 1000},"path":${JSON.stringify(key)},"bytes":${bytes},"status":${status},"cache":"${cache}"}\n`);
  }

  /**
   * Makes sure one path is cached (memory, disk or a new fill) without counting a viewer request.
   * @returns the object's bytes, or undefined when it cannot be had.
   */
  async fillPath(pathname: string): Promise<Buffer | undefined> {
    const key = pathname;
    const cached = this.memory.getStale(key);
    if (cached && this.memory.get(key)) return cached.body;
    const fromDisk = this.disk?.has(key) ? await this.disk.get(key) : undefined;
    if (fromDisk) {
      this.memory.set(key, fromDisk, Math.max(1, (fromDisk.expiresAtMs - this.nowMs()) / 1000));
      return fromDisk.body;
    }
    const outcome = await this.fill(key, pathname);
    if (outcome.kind !== 'fill') return undefined;
    const fill = outcome.fill;
    return new Promise((resolve) => fill.settled(() => fill.whenStored(() => resolve(fill.object?.body)), () => resolve(undefined)));
  }

  /**
   * Removes objects from both tiers: one path, or every object of a title.
   * @returns how many keys were removed.
   */
  purge(target: { path?: string; titleId?: string }): number {
    const keys = new Set<string>();
    if (target.path) keys.add(target.path);
    if (target.titleId) {
      const prefix = `/vod/${target.titleId}/`;
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

  private adminAllowed(req: express.Request): boolean {
    if (this.options.adminToken) return req.headers.authorization === `Bearer ${this.options.adminToken}`;
    const ip = normalizeIp(req.socket.remoteAddress);
    return ip === '127.0.0.1' || ip === '::1';
  }

  private createControlApp(playerDir: string): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(corsMiddleware);
    app.get('/', (_req, res) => res.redirect(302, '/player/'));
    app.get('/healthz', (_req, res) => {
      res.json({
        ok: true,
        name: this.name,
        policy: this.memory.policyName,
        cacheBytes: this.memory.maxBytes,
        cache: this.memory.size(),
        disk: this.disk ? { ...this.disk.size(), maxBytes: this.disk.maxBytes } : null,
        upstreams: this.upstreams.states(),
      });
    });
    app.get('/metrics', async (_req, res) => {
      res.setHeader('Content-Type', this.metrics.registry.contentType);
      res.send(await this.metrics.registry.metrics());
    });
    // The catalog is passed through uncached: it changes whenever a title is published.
    app.get(['/titles', '/titles/:titleId'], async (req, res) => {
      const answer = await this.upstreams.fetch(req.originalUrl);
      res.setHeader('X-Cache', 'MISS');
      res.setHeader('Cache-Control', 'no-cache');
      if (answer.kind === 'status') {
        res.status(answer.status).json({ error: answer.status >= 500 ? 'origin unavailable' : 'not found' });
        return;
      }
      const fill = answer.fill;
      const body = await new Promise<Buffer | undefined>((resolve) => fill.settled(() => resolve(fill.body()), () => resolve(undefined)));
      if (!body) {
        res.status(502).json({ error: 'origin unavailable' });
        return;
      }
      res.setHeader('Content-Type', fill.headers.contentType ?? 'application/json');
      res.send(body);
    });
    app.get('/shape/traces', async (_req, res) => {
      res.json({ traces: await this.shaping.listTraces() });
    });
    app.post('/shape', express.json({ limit: '4kb' }), async (req, res) => {
      const body = (req.body ?? {}) as { session?: unknown; rate?: unknown; trace?: unknown };
      if (typeof body.session !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(body.session)) {
        res.status(400).json({ error: 'give a session id of 1-64 letters, digits, _ or -' });
        return;
      }
      let profile: RateProfile;
      if (typeof body.trace === 'string') {
        try {
          profile = RateProfile.fromTrace(await this.shaping.loadTrace(body.trace));
        } catch (err) {
          res.status(400).json({ error: (err as Error).message });
          return;
        }
      } else {
        const rate = typeof body.rate === 'string' || typeof body.rate === 'number' ? parseRateBps(body.rate) : undefined;
        if (!rate) {
          res.status(400).json({ error: 'give a rate such as "1500k" or a trace name from /shape/traces' });
          return;
        }
        profile = RateProfile.fixed(rate);
      }
      const session = this.shaping.set(body.session, profile);
      res.json({ session: session.id, profile: profile.describe() });
    });
    app.get('/shape/:session', (req, res) => {
      const s = this.shaping.get(String(req.params.session));
      if (!s) {
        // Not shaped is a normal state (the player polls it), not an error.
        res.json({ session: String(req.params.session), rateBps: null });
        return;
      }
      res.json({ session: s.id, rateBps: this.shaping.currentRateBps(s), elapsedS: (Date.now() - s.startedAtMs) / 1000, profile: s.profile.describe() });
    });
    app.delete('/shape/:session', (req, res) => {
      res.json({ removed: this.shaping.delete(String(req.params.session)) });
    });
    app.post('/qoe', express.json({ limit: '64kb', type: ['application/json', 'text/plain'] }), (req, res) => {
      const parsed = qoeBeaconSchema.safeParse(req.body);
      if (!parsed.success) {
        res.status(400).json({ error: `invalid QoE beacon: ${parsed.error.issues[0]?.message ?? 'unknown'}` });
        return;
      }
      this.qoe.record(parsed.data);
      res.status(204).end();
    });
    app.get('/qoe/sessions', (_req, res) => {
      res.json({ sessions: this.qoe.list() });
    });
    app.post('/admin/purge', express.json({ limit: '4kb' }), (req, res) => {
      if (!this.adminAllowed(req)) {
        res.status(403).json({ error: 'admin routes need the admin token (or a loopback client)' });
        return;
      }
      const body = (req.body ?? {}) as { path?: unknown; titleId?: unknown };
      const target = {
        ...(typeof body.path === 'string' ? { path: body.path } : {}),
        ...(typeof body.titleId === 'string' && /^[0-9a-f]{16}$/.test(body.titleId) ? { titleId: body.titleId } : {}),
      };
      if (!target.path && !target.titleId) {
        res.status(400).json({ error: 'give {"path": "/vod/..."} or {"titleId": "<16 hex digits>"}' });
        return;
      }
      res.json({ removed: this.purge(target) });
    });
    app.post('/admin/prefill', express.json({ limit: '4kb' }), async (req, res) => {
      if (!this.adminAllowed(req)) {
        res.status(403).json({ error: 'admin routes need the admin token (or a loopback client)' });
        return;
      }
      const body = (req.body ?? {}) as { titles?: unknown; source?: unknown; titleIds?: unknown };
      const count = typeof body.titles === 'number' && body.titles > 0 ? Math.min(1000, Math.floor(body.titles)) : 10;
      let titleIds: string[];
      if (Array.isArray(body.titleIds)) {
        titleIds = body.titleIds.filter((t): t is string => typeof t === 'string' && /^[0-9a-f]{16}$/.test(t));
      } else if (body.source === 'catalog') {
        const answer = await this.upstreams.fetch('/titles');
        const text = answer.kind === 'body' ? await new Promise<Buffer | undefined>((r) => answer.fill.settled(() => r(answer.fill.body()), () => r(undefined))) : undefined;
        if (!text) {
          res.status(502).json({ error: 'could not read the catalog upstream' });
          return;
        }
        titleIds = ((JSON.parse(text.toString('utf8')) as { titles?: { titleId: string }[] }).titles ?? []).map((t) => t.titleId).slice(0, count);
      } else {
        titleIds = [...this.titleRequests.entries()].sort((a, b) => b[1] - a[1]).map(([t]) => t).filter((t) => /^[0-9a-f]{16}$/.test(t)).slice(0, count);
      }
      const result = await prefillTitles({ fillPath: (p) => this.fillPath(p) }, titleIds);
      res.json(result);
    });
    const hlsDist = path.dirname(require.resolve('hls.js/dist/hls.min.js'));
    app.use('/player/vendor', express.static(hlsDist, { index: false, maxAge: '1h' }));
    // chart.js exports only its ES entry; its UMD build sits beside it in dist/.
    app.use('/player/vendor-chart', express.static(path.dirname(require.resolve('chart.js')), { index: false, maxAge: '1h' }));
    app.use('/player', express.static(playerDir, { index: 'index.html', maxAge: 0 }));
    app.use((req, res) => {
      // POSTs and other methods on /vod/ end up here too.
      if (req.path.startsWith('/vod/')) {
        res.setHeader('Allow', 'GET, HEAD, OPTIONS');
        res.status(405).json({ error: 'method not allowed' });
        return;
      }
      res.status(404).json({ error: 'not found' });
    });
    return app;
  }
}

export type FillOutcome = { readonly kind: 'fill'; readonly fill: StreamingFill } | { readonly kind: 'status'; readonly status: number; readonly reason: string };

/** Whether an expired object may still be served because its upstream failed (RFC 5861 §4 stale-if-error). */
export function withinStaleIfError(object: CachedObject, nowMs: number): boolean {
  const m = /(?:^|[\s,])stale-if-error=(\d+)/i.exec(object.cacheControl);
  if (!m) return false;
  const freshUntil = object.storedAtMs + freshnessLifetimeS(object.cacheControl) * 1000;
  return nowMs <= freshUntil + Number(m[1]) * 1000;
}

function sendStatus(res: http.ServerResponse, status: number, reason: string): void {
  const body = JSON.stringify({ error: reason });
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.end(body);
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
