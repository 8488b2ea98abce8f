/**
 * The edge's control plane on express: every route that is not the `/vod/` hit path — health
 * and metrics, the catalog pass-through, shaping, QoE beacons, admin, the player page — wired
 * from one module per route family. Unknown routes get 404; other methods on `/vod/` get 405;
 * errors (malformed bodies included) one JSON sentence, never a stack trace.
 */
import express from 'express';
import { corsMiddleware } from '../../http/cors.js';
import { jsonErrorHandler } from '../../http/error-answers.js';
import type { Logger } from '../../util/logger.js';
import { VOD_PATH_PREFIX } from '../../title/title-address.js';
import type { QoeAggregator } from '../qoe.js';
import type { ShapingSessions } from '../shaping.js';
import { adminRoutes, type AdminTarget } from './admin-routes.js';
import { catalogRoutes } from './catalog-routes.js';
import { healthRoutes, type HealthSource } from './health-routes.js';
import { playerRoutes } from './player-routes.js';
import { qoeRoutes } from './qoe-routes.js';
import { shapingRoutes } from './shaping-routes.js';

/** Everything the control routes use from the edge. */
export interface ControlTarget extends HealthSource, AdminTarget {
  readonly shaping: ShapingSessions;
  readonly qoe: QoeAggregator;
}

export interface ControlAppOptions {
  readonly log: Logger;
  /** Bearer token of /admin routes; without one only loopback clients may use them. */
  readonly adminToken?: string | undefined;
  /** Folder of the player page; no /player/ routes without it. */
  readonly playerDir?: string | undefined;
}

export function createControlApp(edge: ControlTarget, options: ControlAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(corsMiddleware);
  app.use(healthRoutes(edge));
  app.use(catalogRoutes(edge.upstreams));
  app.use(shapingRoutes(edge.shaping));
  app.use(qoeRoutes(edge.qoe));
  app.use(adminRoutes(edge, options.adminToken));
  if (options.playerDir) app.use(playerRoutes(options.playerDir));
  app.use((req, res) => {
    // POSTs and other methods on /vod/ end up here too.
    if (req.path.startsWith(VOD_PATH_PREFIX)) {
      res.setHeader('Allow', 'GET, HEAD, OPTIONS');
      res.status(405).json({ error: 'method not allowed' });
      return;
    }
    res.status(404).json({ error: 'not found' });
  });
  app.use(jsonErrorHandler(options.log, 'edge'));
  return app;
}
