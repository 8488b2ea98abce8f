/**
 * `vod origin`: the origin HTTP server (express) in front of the object store.
 * - `GET /titles`: the catalog as JSON; `GET /titles/<titleId>`: one title's record;
 * - `GET|HEAD /vod/<titleId>/...`: playlists and segments with Content-Type, strong ETag,
 *   Cache-Control, single byte ranges (206/416), conditional GET (304);
 * - CORS on everything (players run on other origins); `/healthz`.
 */
import { pipeline } from 'node:stream/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import { corsMiddleware } from '../http/cors.js';
import { cacheControlFor, contentTypeFor, vodKeyFromPath } from '../http/http-object.js';
import { listen, type RunningServer } from '../http/listen.js';
import { answerObjectRequest } from '../http/object-response.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { VOD_PATH_PREFIX } from '../title/title-address.js';
import { catalogEntry, listTitles, readTitle } from './catalog.js';
import type { ObjectStore } from './object-store.js';

export interface OriginServerOptions {
  readonly store: ObjectStore;
  readonly log?: Logger;
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
 * Sends one stored object: 404 when missing; otherwise its headers and what the shared
 * responder (http/object-response.ts) says to send — 304, 416, 206 or 200; HEAD without body.
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
  const range = answerObjectRequest(req, res, stat.sizeBytes, stat.etag);
  if (!range) return;
  if (range.end < range.start) {
    res.end();
    return;
  }
  await pipeline(store.createReadStream(key, range), res).catch((err: NodeJS.ErrnoException) => {
    // A client that goes away mid-body is normal; anything else is logged by the caller.
    if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
  });
}

/** Starts `vod origin`. */
export async function startOriginServer(options: OriginServerOptions & { host: string; port: number }): Promise<RunningServer> {
  return listen(createOriginApp(options), options.host, options.port);
}
