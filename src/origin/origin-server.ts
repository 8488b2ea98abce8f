/**
 * `vod origin`: the origin HTTP server (express) in front of the object store.
 * - `GET /titles`: the catalog as JSON; `GET /titles/<titleId>`: one title's record;
 * - `GET|HEAD /vod/<titleId>/...`: playlists and segments with Content-Type, strong ETag,
 *   Cache-Control, single byte ranges (206/416), conditional GET (304);
 * - a title taken down by `vod remove` answers 410 Gone on both (its id is retired for good),
 *   anything else missing 404;
 * - CORS on everything (players run on other origins); `/healthz`.
 */
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response } from 'express';
import { corsMiddleware } from '../http/cors.js';
import { jsonErrorHandler } from '../http/error-answers.js';
import { originFormMiddleware } from '../http/request-target.js';
import { cacheControlFor, contentTypeFor, vodKeyFromPath } from '../http/http-object.js';
import { listen, type RunningServer } from '../http/listen.js';
import { answerObjectRequest } from '../http/object-response.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { titleIdOfPath, VOD_PATH_PREFIX } from '../title/title-address.js';
import { catalogEntry, listTitles, readRemovedMarker, readTitle } from './catalog.js';
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
  app.use(originFormMiddleware);
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
    const titleId = String(req.params.titleId);
    const record = await readTitle(store, titleId);
    if (!record) {
      await sendMissing(res, store, titleId, 'no such title');
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
  app.use(jsonErrorHandler(log, 'origin'));
  return app;
}

/**
 * Answers a request for something the store does not hold: 410 Gone when it belongs to a title
 * `vod remove` took down (RFC 9110 §15.5.11: "no longer available at the origin server and
 * [...] likely to be permanent" — the removed id is never published again, ingest/title-id.ts),
 * with the title's id, name and removal time; otherwise 404 with `notFound` as the error.
 * @param titleId the title the request addresses, when it addresses one.
 */
async function sendMissing(res: Response, store: ObjectStore, titleId: string | undefined, notFound: string): Promise<void> {
  const removed = titleId === undefined ? undefined : await readRemovedMarker(store, titleId);
  if (removed) {
    res.status(410).json({ error: `title ${removed.titleId} was removed at ${removed.removedAt}`, titleId: removed.titleId, title: removed.title, removedAt: removed.removedAt });
    return;
  }
  res.status(404).json({ error: notFound });
}

/**
 * Sends one stored object: 404 when missing (410 when its title was removed); otherwise its headers and what the shared
 * responder (http/object-response.ts) says to send — 304, 416, 206 or 200; HEAD without body.
 */
export async function sendStoredObject(req: Request, res: Response, store: ObjectStore, key: string): Promise<void> {
  const stat = await store.stat(key);
  if (!stat) {
    await sendMissing(res, store, titleIdOfPath(`/${key}`), 'not found');
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
  // A pipelined request's response waits in the connection's queue; when the client drops
  // the connection, that response never drains nor closes, so the read stream (and its file
  // handle) must be ended by the connection's close, not by the response's.
  const socket = req.socket;
  if (socket.destroyed) return;
  const stream = store.createReadStream(key, range);
  const release = onSocketClose(socket, () => stream.destroy());
  try {
    await pipeline(stream, res);
  } catch (err) {
    // A client that goes away mid-body is normal; anything else is logged by the caller.
    if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE' && !socket.destroyed) throw err;
  } finally {
    release();
  }
}

/** Callbacks to run when a connection closes, one 'close' listener per socket however many requests it pipelines. */
const closeCallbacks = new WeakMap<Socket, Set<() => void>>();

/**
 * Runs `fn` when `socket` closes.
 * @returns a function that cancels it (call it once the response is done).
 */
function onSocketClose(socket: Socket, fn: () => void): () => void {
  let set = closeCallbacks.get(socket);
  if (!set) {
    const callbacks = new Set<() => void>();
    set = callbacks;
    closeCallbacks.set(socket, callbacks);
    socket.once('close', () => {
      for (const cb of callbacks) cb();
      callbacks.clear();
    });
  }
  set.add(fn);
  const callbacks = set;
  return () => callbacks.delete(fn);
}

/** Starts `vod origin`. */
export async function startOriginServer(options: OriginServerOptions & { host: string; port: number }): Promise<RunningServer> {
  return listen(createOriginApp(options), options.host, options.port);
}
