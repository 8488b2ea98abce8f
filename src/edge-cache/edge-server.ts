/**
 * `vod edge`: a caching edge in front of the origin.
 *
 * Cache hits take a lean path on node:http (no express routing per request: the edge
 * benchmark in issue 4 showed express's routing costs most of the throughput on small
 * objects); everything else — the catalog, /metrics, /healthz and the player page — goes
 * through an express app. Misses fill from the origin, one upstream fetch per object however
 * many clients ask at once (request coalescing), and the object then answers every client,
 * byte ranges included, from memory.
 */
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import express from 'express';
import { pino } from 'pino';
import { PROJECT_ROOT } from '../config.js';
import { corsMiddleware, CORS_EXPOSED_HEADERS, listen, type RunningServer } from '../origin/origin-server.js';
import { contentTypeFor, resolveRange, vodKeyFromPath } from '../origin/http-object.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { EdgeMetrics } from './edge-metrics.js';
import { freshnessLifetimeS, MemoryTier, PolicyMemoryTier, type CacheTier, type CachedObject } from './memory-tier.js';

const require = createRequire(import.meta.url);

export interface EdgeServerOptions {
  /** Base URL of the origin (or parent edge) to fill from, e.g. http://127.0.0.1:8080. */
  readonly originUrl: string;
  /** Memory tier capacity in bytes. */
  readonly cacheBytes: number;
  /**
   * Eviction policy of the memory tier: 'lru-cache' (default, the lru-cache package) or a
   * policy of the registry (lru, fifo, lfu, arc, s3fifo, sieve, w-tinylfu, gdsf), the same
   * code `vod bench hit-ratio` simulates.
   */
  readonly policy?: string;
  /** Upstream fill timeout in ms (connect + whole body). Default 15000. */
  readonly fillTimeoutMs?: number;
  /**
   * File to append an access log to: one JSON object per /vod/ request, `{"time": s since the
   * epoch, "path", "bytes": object size, "status", "cache": "HIT"|"MISS"}` — the format
   * `vod bench hit-ratio --trace FILE.jsonl` replays. Written asynchronously (pino's sonic-boom destination).
   */
  readonly accessLogPath?: string;
  /** Folder of the player page; default `<project>/player-demo`. */
  readonly playerDir?: string;
  readonly log?: Logger;
}

/** Outcome of a fill: the object, or the status to answer with. */
type FillResult = { readonly object: CachedObject; readonly cacheable: boolean } | { readonly status: number; readonly reason: string };

class UpstreamStatusError extends Error {
  constructor(readonly status: number) {
    super(`upstream answered ${status}`);
  }
}

export class EdgeServer {
  readonly metrics: EdgeMetrics;
  readonly memory: CacheTier;
  private readonly originUrl: string;
  private readonly fillTimeoutMs: number;
  private readonly log: Logger;
  private readonly inFlight = new Map<string, Promise<FillResult>>();
  private readonly app: express.Express;
  private readonly accessLog: ReturnType<typeof pino.destination> | undefined;

  /** @throws TypeError when originUrl is not an http(s) URL. */
  constructor(options: EdgeServerOptions) {
    const origin = new URL(options.originUrl);
    if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new TypeError(`origin must be an http(s) URL, got ${options.originUrl}`);
    this.originUrl = origin.toString().replace(/\/+$/, '');
    this.memory = !options.policy || options.policy === 'lru-cache' ? new MemoryTier(options.cacheBytes) : new PolicyMemoryTier(options.policy, options.cacheBytes);
    this.metrics = new EdgeMetrics(() => this.memory.size());
    this.fillTimeoutMs = options.fillTimeoutMs ?? 15_000;
    this.log = options.log ?? silentLogger;
    this.app = this.createControlApp(options.playerDir ?? path.join(PROJECT_ROOT, 'player-demo'));
    this.accessLog = options.accessLogPath ? pino.destination({ dest: options.accessLogPath, append: true, mkdir: true, sync: false }) : undefined;
  }

  /** Flushes and closes the access log. */
  close(): Promise<void> {
    const log = this.accessLog;
    if (!log) return Promise.resolve();
    return new Promise((resolve) => {
      log.once('close', () => resolve());
      log.end();
    });
  }

  private logAccess(key: string, bytes: number, status: number, cache: 'HIT' | 'MISS'): void {
    this.accessLog?.write(`{"time":${Date.now() / 1000},"path":${JSON.stringify(key)},"bytes":${bytes},"status":${status},"cache":"${cache}"}\n`);
  }

  /** The node:http request listener: lean path for /vod/ GET and HEAD, express for the rest. */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? '/';
    if ((req.method === 'GET' || req.method === 'HEAD') && url.startsWith('/vod/')) {
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
    const pathname = q >= 0 ? url.slice(0, q) : url;
    const resolved = vodKeyFromPath(pathname);
    if (!resolved.ok) {
      sendStatus(res, resolved.status, resolved.reason);
      return;
    }
    // The cache key is the path alone: query strings (tokens, cache busters) never split entries.
    const key = pathname;
    const cached = this.memory.get(key);
    if (cached) {
      this.metrics.requests.inc({ cache: 'hit' });
      this.metrics.hits.inc();
      this.sendObject(req, res, cached, 'HIT');
      this.logAccess(key, cached.body.length, res.statusCode, 'HIT');
      return;
    }
    this.metrics.requests.inc({ cache: 'miss' });
    this.metrics.misses.inc();
    const result = await this.fill(key, url);
    if ('status' in result) {
      res.setHeader('X-Cache', 'MISS');
      sendStatus(res, result.status, result.reason);
      this.logAccess(key, 0, result.status, 'MISS');
      return;
    }
    this.sendObject(req, res, result.object, 'MISS');
    this.logAccess(key, result.object.body.length, res.statusCode, 'MISS');
  }

  /**
   * Fetches an object from upstream once, however many requests wait for it.
   * @param key cache key (the path); @param upstreamPath path and query sent upstream.
   */
  private async fill(key: string, upstreamPath: string): Promise<FillResult> {
    const pending = this.inFlight.get(key);
    if (pending) {
      this.metrics.coalesced.inc();
      const result = await pending;
      // A coalesced request is one more access for the tier's policy (the simulator sees it too).
      if ('object' in result && result.cacheable) this.memory.get(key);
      return result;
    }
    const promise = this.fetchUpstream(key, upstreamPath).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  private async fetchUpstream(key: string, upstreamPath: string): Promise<FillResult> {
    const started = performance.now();
    try {
      const upstream = await fetch(this.originUrl + upstreamPath, { signal: AbortSignal.timeout(this.fillTimeoutMs), redirect: 'manual' });
      if (upstream.status === 404) {
        await upstream.body?.cancel();
        return { status: 404, reason: 'not found' };
      }
      if (upstream.status !== 200) {
        await upstream.body?.cancel();
        throw new UpstreamStatusError(upstream.status);
      }
      const body = Buffer.from(await upstream.arrayBuffer());
      this.metrics.bytesFilled.inc(body.length);
      const cacheControl = upstream.headers.get('cache-control') ?? '';
      const object: CachedObject = {
        body,
        contentType: upstream.headers.get('content-type') ?? contentTypeFor(key),
        etag: upstream.headers.get('etag') ?? undefined,
        lastModified: upstream.headers.get('last-modified') ?? undefined,
        cacheControl,
        storedAtMs: Date.now(),
      };
      const cacheable = this.memory.set(key, object, freshnessLifetimeS(cacheControl));
      this.log.debug({ key, bytes: body.length, cacheable, ms: Math.round(performance.now() - started) }, 'filled');
      return { object, cacheable };
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        this.log.warn({ key, timeoutMs: this.fillTimeoutMs }, 'fill timed out');
        return { status: 504, reason: 'upstream timed out' };
      }
      this.log.warn({ key, err: e instanceof UpstreamStatusError ? e.message : String((e as { cause?: unknown }).cause ?? e) }, 'fill failed');
      return { status: 502, reason: 'upstream unavailable' };
    }
  }

  /** Answers from a cached object: conditional GET, one byte range, HEAD; counts bytes served. */
  private sendObject(req: http.IncomingMessage, res: http.ServerResponse, object: CachedObject, cache: 'HIT' | 'MISS'): void {
    const size = object.body.length;
    res.setHeader('Content-Type', object.contentType);
    res.setHeader('Cache-Control', object.cacheControl);
    if (object.etag) res.setHeader('ETag', object.etag);
    if (object.lastModified) res.setHeader('Last-Modified', object.lastModified);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Age', String(Math.max(0, Math.floor((Date.now() - object.storedAtMs) / 1000))));
    res.setHeader('X-Cache', cache);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);

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
    this.metrics.bytesServed.inc(body.length);
    res.end(body);
  }

  private createControlApp(playerDir: string): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(corsMiddleware);
    app.get('/', (_req, res) => res.redirect(302, '/player/'));
    app.get('/healthz', (_req, res) => {
      res.json({ ok: true, policy: this.memory.policyName, cacheBytes: this.memory.maxBytes, cache: this.memory.size() });
    });
    app.get('/metrics', async (_req, res) => {
      res.setHeader('Content-Type', this.metrics.registry.contentType);
      res.send(await this.metrics.registry.metrics());
    });
    // The catalog is passed through uncached: it changes whenever a title is published.
    app.get(['/titles', '/titles/:titleId'], async (req, res) => {
      try {
        const upstream = await fetch(this.originUrl + req.originalUrl, { signal: AbortSignal.timeout(this.fillTimeoutMs) });
        res.status(upstream.status);
        res.setHeader('Content-Type', upstream.headers.get('content-type') ?? 'application/json');
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('X-Cache', 'MISS');
        res.send(Buffer.from(await upstream.arrayBuffer()));
      } catch {
        res.status(502).setHeader('X-Cache', 'MISS');
        res.json({ error: 'origin unavailable' });
      }
    });
    const hlsDist = path.dirname(require.resolve('hls.js/dist/hls.min.js'));
    app.use('/player/vendor', express.static(hlsDist, { index: false, maxAge: '1h' }));
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
  const running = await listen(edge.handle, options.host, options.port);
  return {
    ...running,
    edge,
    close: async () => {
      await running.close();
      await edge.close();
    },
  };
}
