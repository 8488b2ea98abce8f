/**
 * `vod origin`: the origin HTTP server (express) in front of the object store.
 * - `GET /titles`: the catalog as JSON; `GET /titles/<titleId>`: one title's record;
 * - `GET|HEAD /vod/<titleId>/...`: playlists and segments with Content-Type, strong ETag,
 *   Cache-Control, single byte ranges (206/416), conditional GET (304);
 * - CORS on everything (players run on other origins); `/healthz`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { VOD_PATH_PREFIX } from '../title/title-address.js';
import { catalogEntry, listTitles, readTitle } from './catalog.js';
import { cacheControlFor, contentTypeFor, resolveRange, vodKeyFromPath } from './http-object.js';
import type { ObjectStore } from './object-store.js';

export interface OriginServerOptions {
  readonly store: ObjectStore;
  readonly log?: Logger;
}

/** Headers a browser may read from cross-origin responses (Fetch standard, CORS). */
export const CORS_EXPOSED_HEADERS = 'Content-Length, Content-Range, Accept-Ranges, ETag, X-Cache, Via, Age';

/** Sets CORS headers and answers preflight requests (Fetch standard §3.2). */
export function corsMiddleware(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Range, If-None-Match, If-Modified-Since, Content-Type');
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
    return;
  }
  next();
}

/** Builds the origin's express application. */
export function createOriginApp(options: OriginServerOptions): express.Express {
  const { store } = options;
  const log = options.log ?? silentLogger;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(corsMiddleware);

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.get('/titles', async (_req, res) => {
    const titles = await listTitles(store, (titleId, err) => log.warn({ titleId, err: String(err) }, 'skipping invalid title record'));
    res.setHeader('Cache-Control', 'no-cache');
    res.json({ titles: titles.map(catalogEntry) });
  });

  app.get('/titles/:titleId', async (req, res) => {
    const record = await readTitle(store, String(req.params.titleId));
    if (!record) {
      res.status(404).json({ error: 'no such title' });
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.json(catalogEntry(record));
  });

  app.use(VOD_PATH_PREFIX, async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD, OPTIONS');
      res.status(405).json({ error: 'method not allowed' });
      return;
    }
    const pathname = (req.originalUrl.split('?')[0] ?? '').replace(/^\/+/, '/');
    const resolved = vodKeyFromPath(pathname);
    if (!resolved.ok) {
      res.status(resolved.status).json({ error: resolved.reason });
      return;
    }
    try {
      await sendStoredObject(req, res, store, resolved.key);
    } catch (err) {
      next(err);
    }
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) log.error({ err: err.message }, 'origin error');
    if (!res.headersSent) res.status(status).json({ error: status === 500 ? 'internal error' : err.message });
    else res.destroy();
  });
  return app;
}

/**
 * Sends one stored object: 404 when missing, 304 on a matching If-None-Match
 * (RFC 9110 §13.1.2), 206/416 for a single range, else 200. HEAD gets the same headers.
 */
export async function sendStoredObject(req: Request, res: Response, store: ObjectStore, key: string): Promise<void> {
  const stat = await store.stat(key);
  if (!stat) {
    res.status(404).json({ error: 'not found' });
    return;
  }
  res.setHeader('Content-Type', contentTypeFor(key));
  res.setHeader('Cache-Control', cacheControlFor(key));
  res.setHeader('ETag', stat.etag);
  res.setHeader('Last-Modified', new Date(stat.mtimeMs).toUTCString());
  res.setHeader('Accept-Ranges', 'bytes');

  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === stat.etag || t.trim() === '*')) {
    res.status(304).end();
    return;
  }
  const range = resolveRange(req.headers.range, stat.sizeBytes);
  if (range.kind === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${stat.sizeBytes}`);
    res.status(416).end();
    return;
  }
  let start = 0;
  let end = stat.sizeBytes - 1;
  if (range.kind === 'partial') {
    ({ start, end } = range);
    res.status(206);
    res.setHeader('Content-Range', `bytes ${start}-${end}/${stat.sizeBytes}`);
  } else {
    res.status(200);
  }
  res.setHeader('Content-Length', String(Math.max(0, end - start + 1)));
  if (req.method === 'HEAD' || stat.sizeBytes === 0) {
    res.end();
    return;
  }
  await pipeline(store.createReadStream(key, { start, end }), res).catch((err: NodeJS.ErrnoException) => {
    // A client that goes away mid-body is normal; anything else is logged by the caller.
    if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
  });
}

export interface RunningServer {
  readonly server: http.Server;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts an HTTP server for a request handler.
 * @param port 0 picks a free port.
 * @throws UserError-style Error with a clear message when the port is taken.
 */
export function listen(handler: http.RequestListener, host: string, port: number, serverOptions: http.ServerOptions = {}): Promise<RunningServer> {
  const server = http.createServer(serverOptions, handler);
  // Slow-client and header limits (slowloris): Node's defaults made explicit.
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;
  server.keepAliveTimeout = 5_000;
  // A connection idle this long is closed (slow or stuck clients).
  server.timeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use`) : err);
    });
    server.listen(port, host, () => {
      const addr = server.address() as AddressInfo;
      const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        server,
        url: `http://${shownHost}:${addr.port}`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Starts `vod origin`. */
export async function startOriginServer(options: OriginServerOptions & { host: string; port: number }): Promise<RunningServer> {
  return listen(createOriginApp(options), options.host, options.port);
}
