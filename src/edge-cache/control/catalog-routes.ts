/**
 * The catalog (`GET /titles`, `GET /titles/<titleId>`) passed through from the upstreams,
 * uncached: it changes whenever a title is published.
 */
import express from 'express';
import { isTitleId } from '../../title/title-address.js';
import type { UpstreamPool } from '../upstream-pool.js';

/** The catalog's path on the origin (origin/origin-server.ts). */
export const CATALOG_PATH = '/titles';

/** Reads the whole body of an upstream answer; undefined when it is a status or breaks off. */
export async function fetchWholeBody(upstreams: UpstreamPool, path: string): Promise<{ body: Buffer; contentType: string | undefined } | { status: number } | undefined> {
  const answer = await upstreams.fetch(path);
  if (answer.kind === 'status') return { status: answer.status };
  const fill = answer.fill;
  const body = await new Promise<Buffer | undefined>((resolve) => fill.settled(() => resolve(fill.body()), () => resolve(undefined)));
  return body ? { body, contentType: fill.headers.contentType } : undefined;
}

export function catalogRoutes(upstreams: UpstreamPool): express.Router {
  const router = express.Router();
  router.get(['/titles', '/titles/:titleId'], async (req, res) => {
    // The upstream path is built here, never taken from the request target.
    const titleId = req.params.titleId;
    if (titleId !== undefined && !isTitleId(titleId)) {
      res.status(404).json({ error: 'no such title' });
      return;
    }
    const answer = await fetchWholeBody(upstreams, titleId === undefined ? CATALOG_PATH : `${CATALOG_PATH}/${titleId}`);
    res.setHeader('X-Cache', 'MISS');
    res.setHeader('Cache-Control', 'no-cache');
    if (!answer) {
      res.status(502).json({ error: 'origin unavailable' });
      return;
    }
    if ('status' in answer) {
      res.status(answer.status).json({ error: answer.status >= 500 ? 'origin unavailable' : 'not found' });
      return;
    }
    res.setHeader('Content-Type', answer.contentType ?? 'application/json');
    res.send(answer.body);
  });
  return router;
}
