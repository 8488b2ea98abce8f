/**
 * Operator routes: `POST /admin/purge {"path"} | {"titleId"}` and
 * `POST /admin/prefill {"titles", "source": "history" | "catalog"} | {"titleIds"}`. Allowed to
 * the bearer admin token when one is set, else to loopback clients only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express from 'express';
import { isTitleId } from '../../title/title-address.js';
import { prefillTitles, type PrefillResult } from '../prefill.js';
import type { UpstreamPool } from '../upstream-pool.js';
import { normalizeIp } from '../../http/url-signing.js';
import { CATALOG_PATH, fetchWholeBody } from './catalog-routes.js';

/** What the admin routes do to the edge. */
export interface AdminTarget {
  readonly upstreams: UpstreamPool;
  /** Requests per title since start (prefill by history). */
  readonly titleRequests: ReadonlyMap<string, number>;
  purge(target: { path?: string; titleId?: string }): number;
  fillPath(pathname: string): Promise<Buffer | undefined>;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Most titles one prefill request may name. */
const MAX_PREFILL_TITLES = 1000;

export function adminRoutes(edge: AdminTarget, adminToken: string | undefined): express.Router {
  const router = express.Router();
  const expected = adminToken ? digest(`Bearer ${adminToken}`) : undefined;
  const allowed = (req: express.Request): boolean => {
    // Compared in constant time, over digests so the lengths match (no timing oracle on the token).
    if (expected) return timingSafeEqual(digest(req.headers.authorization ?? ''), expected);
    const ip = normalizeIp(req.socket.remoteAddress);
    return ip === '127.0.0.1' || ip === '::1';
  };
  router.use('/admin', (req, res, next) => {
    if (allowed(req)) next();
    else res.status(403).json({ error: 'admin routes need the admin token (or a loopback client)' });
  });
  router.post('/admin/purge', express.json({ limit: '4kb' }), (req, res) => {
    const body = (req.body ?? {}) as { path?: unknown; titleId?: unknown };
    const target = {
      ...(typeof body.path === 'string' ? { path: body.path } : {}),
      ...(isTitleId(body.titleId) ? { titleId: body.titleId } : {}),
    };
    if (!target.path && !target.titleId) {
      res.status(400).json({ error: 'give {"path": "/vod/..."} or {"titleId": "<16 hex digits>"}' });
      return;
    }
    res.json({ removed: edge.purge(target) });
  });
  router.post('/admin/prefill', express.json({ limit: '4kb' }), async (req, res) => {
    const body = (req.body ?? {}) as { titles?: unknown; source?: unknown; titleIds?: unknown };
    const count = typeof body.titles === 'number' && body.titles > 0 ? Math.min(MAX_PREFILL_TITLES, Math.floor(body.titles)) : 10;
    let titleIds: string[];
    if (Array.isArray(body.titleIds)) {
      titleIds = body.titleIds.filter(isTitleId);
    } else if (body.source === 'catalog') {
      const answer = await fetchWholeBody(edge.upstreams, CATALOG_PATH);
      if (!answer || 'status' in answer) {
        res.status(502).json({ error: 'could not read the catalog upstream' });
        return;
      }
      titleIds = ((JSON.parse(answer.body.toString('utf8')) as { titles?: { titleId: string }[] }).titles ?? []).map((t) => t.titleId).slice(0, count);
    } else {
      titleIds = [...edge.titleRequests.entries()].sort((a, b) => b[1] - a[1]).map(([t]) => t).filter(isTitleId).slice(0, count);
    }
    const result: PrefillResult = await prefillTitles({ fillPath: (p) => edge.fillPath(p) }, titleIds);
    res.json(result);
  });
  return router;
}
